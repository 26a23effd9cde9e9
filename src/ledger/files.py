"""Files and folders the service and the CLI write, readable by their owner only.

The store, its backups and exports hold customers' keys and personal data,
so every file is created ``0600`` and every folder ``0700``, with that mode
given to the system call that creates it (``os.open``, ``os.mkdir``,
``mkstemp``): there is no moment in which it exists with a wider mode, and
a umask can only take bits away. Files and folders that already exist are
left as they are.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each ``0700``."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            os.mkdir(path, PRIVATE_DIR)


def create_private(path: Path) -> None:
    """Create an empty ``0600`` file at ``path`` (and its folders) unless it exists."""
    private_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for appending, created ``0600`` if it does not exist."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE), "ab")


@contextlib.contextmanager
def private_output(path: Path) -> Iterator[BinaryIO]:
    """A new file at ``path``, ``0600``: written under a temporary name beside
    it and moved into place once complete (an existing file is replaced, so
    its mode goes with it). A device or pipe (``/dev/stdout``) is written to
    as it is."""
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        with path.open("wb") as stream:
            yield stream
        return
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
