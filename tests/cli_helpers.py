"""Running the ``ledger`` command in tests: through ``main()`` in this process
(with ``LEDGER_*`` set as given and its output captured), or as the real
installed command in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.cli import main
from ledger.settings import get_settings

LEDGER = str(Path(sys.executable).with_name("ledger"))


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


class Cli:
    """``cli("audit", "verify", audit_key="…")`` runs ``ledger audit verify`` with
    ``LEDGER_AUDIT_KEY`` set (``None`` unsets it) besides ``defaults``."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **defaults: str
    ) -> None:
        self.monkeypatch, self.capsys, self.defaults = monkeypatch, capsys, defaults

    def __call__(self, *argv: str, **env: str | None) -> Ran:
        self.capsys.readouterr()
        with self.monkeypatch.context() as m:
            for name, value in {**self.defaults, **env}.items():
                if value is None:
                    m.delenv(f"LEDGER_{name.upper()}", raising=False)
                else:
                    m.setenv(f"LEDGER_{name.upper()}", value)
            get_settings.cache_clear()
            try:
                status = main(list(argv))
            except SystemExit as stop:  # argparse's usage errors
                status = int(stop.code or 0)
            finally:
                get_settings.cache_clear()
        captured = self.capsys.readouterr()
        return Ran(status, captured.out, captured.err)


def run_ledger(*argv: str, env: dict[str, str], closed_stdout: bool = False) -> Ran:
    """The installed ``ledger`` command; with ``closed_stdout`` its output pipe is
    closed before it writes (as ``ledger … | head`` ends up)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    environment.update(env)
    process = subprocess.Popen(
        [LEDGER, *argv],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    if closed_stdout:
        process.stdout.close()
        out, err = b"", process.stderr.read()
    else:
        out, err = process.communicate(timeout=120)
    return Ran(process.wait(timeout=120), out.decode(), err.decode())
