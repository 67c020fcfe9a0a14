"""The unfinished-jobs index (schema migration 5): how the dispatcher finds work without a scan.

A partial index holds only the jobs whose state is not terminal, so reading the unfinished jobs
costs what there is to do, not the size of the job history. SQLite uses a partial index only
for a query whose WHERE repeats the index's condition, so the query and the index share
:data:`UNFINISHED_JOBS_WHERE`. The numbers are Pachyderm's terminal job states (FAILURE 4,
SUCCESS 5, KILLED 6, UNRUNNABLE 9: domain.states.TERMINAL_JOB_STATES, checked by a unit test);
they are spelled out because a shipped migration never changes.
"""

from __future__ import annotations

from typing import Final

__all__ = ["PPS_UNFINISHED_INDEX", "UNFINISHED_JOBS_WHERE"]

UNFINISHED_JOBS_WHERE: Final = "state NOT IN (4, 5, 6, 9)"

PPS_UNFINISHED_INDEX: Final = (f"CREATE INDEX jobs_unfinished ON jobs (id) WHERE {UNFINISHED_JOBS_WHERE}",)
