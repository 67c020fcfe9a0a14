"""The check every job passes before its output leaves it (EGRESSING) or is committed (FINISHING).

A job may only succeed when what it recorded adds up; the check guards every path to SUCCESS
(a fresh run, a resume after a crash, a retry after an internal error) against a bug or a lost
write that left datums unrecorded or outputs without content:

* every datum of the job (``data_total``) has a row, and no row is FAILED or still waiting
  (STARTING): such a job fails with its datum instead;
* the counters agree with the rows: ``data_processed`` equals the SUCCESS rows and
  ``data_skipped`` the SKIPPED rows, and ``data_recovered`` is at least the RECOVERED rows (a
  datum restarted by RestartDatum keeps its earlier outcome counted, so ``data_failed`` and
  ``data_recovered`` may count more; without restarts processed + skipped + failed + recovered
  == total exactly);
* with ``plan`` (the datum IDs the runner planned, when it planned them in this run), the rows
  are exactly those datums;
* every output of a SUCCESS or SKIPPED datum has its content in the blob store, and no other
  datum has outputs.

A problem is returned as one sentence, which becomes the job's FAILURE reason after
``output check failed at FINISHING: `` (or ``EGRESSING``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence

from tuskd.domain.jobs import Job
from tuskd.domain.states import DatumState
from tuskd.store.pps import OutputEntry

__all__ = ["output_problem"]

_WITH_OUTPUT = (DatumState.SUCCESS, DatumState.SKIPPED)


def output_problem(
    job: Job,
    datums: Mapping[str, DatumState],
    outputs: Sequence[OutputEntry],
    blob_exists: Callable[[str], bool],
    plan: Collection[str] = (),
) -> str | None:
    """What does not add up in ``job``'s record (its datum rows by ID, its outputs), or None."""
    states = Counter(datums.values())
    counts = job.counts
    if len(datums) != job.total:
        return f"{len(datums)} datums recorded but data_total is {job.total}"
    if plan:
        missing = sorted(set(plan) - datums.keys())
        if missing:
            return f"datum {missing[0]} was planned but is not recorded ({len(missing)} missing)"
    unfinished = sorted(i for i, s in datums.items() if s not in (*_WITH_OUTPUT, DatumState.RECOVERED))
    if unfinished:
        return f"datum {unfinished[0]} is {datums[unfinished[0]].name}"
    for counter, value, state in (
        ("data_processed", counts.processed, DatumState.SUCCESS),
        ("data_skipped", counts.skipped, DatumState.SKIPPED),
    ):
        if value != states[state]:
            return f"{counter} is {value} but {states[state]} datums are {state.name}"
    if counts.recovered < states[DatumState.RECOVERED]:
        return f"data_recovered is {counts.recovered} but {states[DatumState.RECOVERED]} datums are RECOVERED"
    for entry in outputs:
        owner = datums.get(entry.datum_id)
        if owner not in _WITH_OUTPUT:
            shown = owner.name if owner is not None else "not recorded"
            return f"output {entry.path} belongs to datum {entry.datum_id}, which is {shown}"
        if not blob_exists(entry.blob):
            return f"output {entry.path} of datum {entry.datum_id} has no content (blob {entry.blob} is missing)"
    return None
