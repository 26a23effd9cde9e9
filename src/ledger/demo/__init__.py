"""``ledger demo``: a year of realistic, deterministic orders in every stage.

``planner`` writes each order's story (``stories``, ``making``,
``fulfilment``) as timed steps from a seed; ``runner`` plays all steps in
time order against the ledger and saves them in batches (``run_demo``).
Only the command's registration is imported here, so the CLI starts quickly.
"""

from ledger.demo.command import add_demo_command

__all__ = ["add_demo_command"]
