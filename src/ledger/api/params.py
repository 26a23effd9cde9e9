"""The text rule of query and path parameters: the same as in bodies.

A filter reaches SQL as a bound parameter, and PostgreSQL refuses a NUL in
text outright: without this rule ``/orders?customer=a%00b`` fails in the
store instead of being refused at the door. Every ``str`` query or path
parameter of the API and of the pages is typed ``CleanText`` (a test walks
the routes to keep it so); its length and other limits stay with each
parameter, declared with ``Query``/``Path`` beside it::

    customer: Annotated[CleanText | None, Query(min_length=1, max_length=200)] = None
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from ledger.api.fields import _clean_text

CleanText = Annotated[str, AfterValidator(_clean_text)]
"""Full Unicode; no NUL, no other control character, no lone surrogate (422)."""
