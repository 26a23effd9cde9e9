"""Bulk intake of orders from .xlsx and .csv files (``POST /imports``,
``ledger import``, ``/ui/imports``): check every row by the receive
command's rules, then record every order of a valid file, exactly once."""

from ledger.api.intake.checking import Intake, check_file
from ledger.api.intake.commit import FileHasProblems, Outcome, commit_file
from ledger.api.intake.report import report

__all__ = ["FileHasProblems", "Intake", "Outcome", "check_file", "commit_file", "report"]
