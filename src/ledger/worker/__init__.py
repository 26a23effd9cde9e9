"""Projection runners and the scheduler, in their own process (``ledger
project``) or inside ``ledger serve``."""

from ledger.worker.process import RebuildBusy, Worker, chosen_models

__all__ = ["RebuildBusy", "Worker", "chosen_models"]
