"""The one error a refused command raises."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A guard refused a command; nothing was recorded.

    ``code`` is a stable snake_case identifier clients can switch on
    (``cannot_ship_more_than_ordered``); ``message`` is for people;
    ``details`` carries the numbers that made the guard refuse.
    """

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
