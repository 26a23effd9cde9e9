"""uvicorn with several workers, each accepting on a listening socket of its own.

uvicorn's ``--workers`` shares one listening socket between the workers.
Whichever worker's event loop wakes first accepts every connection waiting
(asyncio accepts up to the backlog at once), so keep-alive clients that
connect together mostly land on one worker: 14 of 16 connections on one of
two workers in a measurement here, leaving the other core idle while that
one's interpreter lock was the bottleneck. Here each worker listens on a
socket of its own bound with ``SO_REUSEPORT`` to the same address, and the
kernel spreads new connections over them by their addresses. A worker that
dies takes its socket with it; uvicorn's supervisor starts another, with a
new socket. Everything else (health checks, restarts, signals) is uvicorn's.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


def reuse_port_socket(config: uvicorn.Config) -> socket.socket:
    """A listening socket on ``config``'s address that others may share."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError:
        sock.close()
        raise
    sock.listen(config.backlog)
    sock.set_inheritable(True)
    return sock


class _OwnSockets(Multiprocess):
    """uvicorn's supervisor; every worker it starts gets a new socket."""

    @property
    def sockets(self) -> list[socket.socket]:
        return [reuse_port_socket(self.config)]

    @sockets.setter
    def sockets(self, value: Any) -> None:
        pass  # uvicorn's __init__ assigns the sockets it was given: none


def address_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (in use, unknown host), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        return str(error.strerror or error)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind(address)
        except OSError as error:
            return str(error.strerror or error).lower()
    return None


def run(app: str, *, workers: int, **options: Any) -> None:
    """``uvicorn.run(app, workers=..., **options)``, with a socket per worker."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(app, workers=workers if workers > 1 else None, **options)
        return
    config = uvicorn.Config(app, workers=workers, **options)
    try:
        reuse_port_socket(config).close()  # the address is free: else a clear error now
    except OSError as error:
        print(f"ledger: cannot listen on {config.host}:{config.port}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    _OwnSockets(config, sockets=[]).run()
