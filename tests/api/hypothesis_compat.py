"""Lets hypothesis-jsonschema 0.23 (under schemathesis 3.x) run on current Hypothesis.

Hypothesis replaced ``many.more()`` with ``with many(...) as e: for _ in e:``;
hypothesis-jsonschema still calls ``while elements.more():`` in one place.
This adds ``more()`` back on top of the new protocol. Remove it once the
project pins a Hypothesis that has ``more()`` or hypothesis-jsonschema moves on.
"""

from __future__ import annotations

from typing import Any

from hypothesis.internal.conjecture import utils

if not hasattr(utils.many, "more"):

    def _more(self: Any) -> bool:
        steps = getattr(self, "_compat_steps", None)
        if steps is None:
            self.__enter__()
            steps = self._compat_steps = iter(self)
        try:
            next(steps)
        except StopIteration:
            self.__exit__(None)
            return False
        return True

    utils.many.more = _more  # type: ignore[attr-defined]
