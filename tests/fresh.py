"""A script in a fresh interpreter (the test process has loaded everything),
without the shell's ``LEDGER_*`` variables; its last line of output as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any


def run_fresh(lines: Sequence[str], timeout: float = 120) -> Any:
    """Run ``lines`` as ``python -c``; the JSON of the last line it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    done = subprocess.run([sys.executable, "-c", "\n".join(lines)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])
