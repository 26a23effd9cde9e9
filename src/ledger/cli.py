"""The ``ledger`` command.

Each subcommand is a function that adds its parser to the subparsers and
sets ``handler`` (``args -> exit code``); ``SUBCOMMANDS`` lists them. Adding
one is a new function and one line in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ledger.api.auth import development_tokens
from ledger.api.intake.command import add_import_command
from ledger.audit.cli_commands import add_audit, add_backup, add_replay
from ledger.cli_support import EXIT_REFUSED, positive, run
from ledger.demo import add_demo_command
from ledger.settings import backend_of, get_settings
from ledger.worker.commands import (
    add_forecast_command,
    add_project_command,
    add_rebuild_command,
    add_restore_command,
)
from ledger.worker.projector import ProjectionProcess

Subparsers = Any  # argparse._SubParsersAction is private; its instance is all we touch
Handler = Callable[[argparse.Namespace], int]


# -- serve -------------------------------------------------------------------


def add_serve(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the HTTP API (embedded SQLite unless LEDGER_DATABASE_URL says otherwise)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8000)
    parser.add_argument("--workers", type=positive, default=1, help="uvicorn worker processes")
    parser.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log every request (faster)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--projections",
        choices=PROJECTIONS,
        default="auto",
        help="where the projection runners and jobs run: a child process (`ledger project`), "
        "the workers, or none; auto (the default): a child on PostgreSQL, else the workers",
    )
    where.add_argument(
        "--no-projections",
        action="store_const",
        const="none",
        dest="projections",
        help="the same as --projections none (run `ledger project` elsewhere)",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Serve the API; without tokens, an embedded store gets a printed development token."""
    from ledger import serving  # uvicorn and FastAPI: loaded only to serve

    settings = get_settings()
    store = backend_of(settings)
    taken = serving.address_problem(args.host, args.port)
    if taken is not None:  # before any token is printed
        print(f"ledger: cannot listen on {args.host}:{args.port}: {taken}", file=sys.stderr)
        return EXIT_REFUSED
    if not settings.tokens:
        if store == "postgres":
            print(
                "ledger: refusing to serve PostgreSQL without LEDGER_TOKENS "
                '(e.g. {"<token>": {"role": "merchandiser", "name": "alice"}})',
                file=sys.stderr,
            )
            return 2
        token, table = development_tokens()
        # Through the environment so that every worker process knows the same token.
        os.environ["LEDGER_TOKENS"] = json.dumps(table)
        get_settings.cache_clear()
        _announce(args, store, token)
    else:
        _announce(args, store, None)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the
    # handler it found: make that a normal exit, so supervisors see status 0.
    signal.signal(signal.SIGTERM, _exit_normally)
    projector = _projections(args.projections, store)
    try:
        serving.run(
            "ledger.api.app:serve_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=not args.no_access_log,
            # Change-feed streams never end by themselves: at shutdown they are
            # given this long, then cancelled (each is ended properly).
            timeout_graceful_shutdown=3,
        )
    except SystemExit as stop:
        # uvicorn logs why it could not start (an address in use, an unknown
        # host) and exits 3, which ledger's statuses reserve for a wrong audit key.
        if stop.code == UVICORN_STARTUP_FAILURE:
            return EXIT_REFUSED
        raise
    finally:
        if projector is not None:
            projector.stop()
    return 0


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
PROJECTIONS = ("auto", "child", "workers", "none")
UVICORN_STARTUP_FAILURE = 3


def _port(text: str) -> int:
    value = positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1 to 65535)")
    return value


def _exit_normally(signum: int, frame: object) -> None:
    sys.exit(0)


def _projections(where: str, store: str) -> ProjectionProcess | None:
    """Where the read models and jobs run (``--projections``): the workers are
    told through the environment (each reads its settings from it); a child
    is started here (``worker.projector``) and returned."""
    wanted = where == "child" or (where == "auto" and store == "postgres")
    child = wanted and store != "memory" and get_settings().run_projections
    if where == "none" or child:
        os.environ["LEDGER_RUN_PROJECTIONS"] = "false"
        get_settings.cache_clear()
    if not child:
        return None
    projector = ProjectionProcess().start()
    if projector.process is not None:
        print(f"ledger: read models and jobs: `ledger project` (pid {projector.process.pid})",
              flush=True)  # fmt: skip
    return projector


def _announce(args: argparse.Namespace, store: str, token: str | None) -> None:
    url = f"http://{args.host}:{args.port}"
    print(f"ledger: serving {url} (store: {store}); docs at {url}/docs", flush=True)
    print(f"ledger: the pages (progress board): {url}/ui/board")
    if token is not None:
        print(f"ledger: development token (merchandiser, auditor, admin): {token}")
        print(f'ledger:   curl -H "Authorization: Bearer {token}" {url}/orders?number=...')
    sys.stdout.flush()


# -- the command -------------------------------------------------------------------

SUBCOMMANDS: list[Callable[[Subparsers], None]] = [
    add_serve,
    add_demo_command,
    add_project_command,
    add_rebuild_command,
    add_audit,
    add_replay,
    add_backup,
    add_restore_command,
    add_import_command,
    add_forecast_command,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="event-sourced order follow-up")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (``cli_support`` lists them)."""
    return run(_dispatch, argv)


def _dispatch(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
