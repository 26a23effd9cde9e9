"""Step one of an import: read the file and check every row; record nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.api.intake.orders import Draft, check_orders
from ledger.sheets.problems import FileRefused, Problem
from ledger.sheets.table import Table, read_table
from ledger.sheets.template import COLUMNS

_POSITION = {column.key: index for index, column in enumerate(COLUMNS)}


@dataclass
class Intake:
    """A checked file: what it is, the orders it holds, what is wrong with it."""

    name: str
    sha256: str
    size: int
    table: Table | None
    drafts: list[Draft]
    problems: list[Problem]
    found: int = 0  # orders in the file (customer references), valid or not

    @property
    def valid(self) -> bool:
        """Readable, with at least one order, and not one problem."""
        return self.table is not None and bool(self.drafts) and not self.problems

    @property
    def lines(self) -> int:
        return sum(len(draft.rows) for draft in self.drafts)


def check_file(data: bytes, name: str = "") -> Intake:
    """The file read and every row checked by the receive command's rules."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        table = read_table(data)
    except FileRefused as refused:
        return Intake(name, digest, len(data), None, [], refused.problems)
    drafts, problems, found = check_orders(table)
    problems.sort(key=lambda p: (p.row or 0, _POSITION.get(p.column or "", -1)))
    return Intake(name, digest, len(data), table, drafts, problems, found)
