"""DAG latency: a chain of 5 pipelines, one datum each: input commit -> last job's SUCCESS, as a
ratio to 5 one-datum jobs run alone (the same user command, measured in the same run).

Each stage copies its one input file to its output (`sh -c 'cp "$<input>" out/'`), so the next
stage has exactly one datum too (a stage that wrote nothing would give the next zero datums).
"""

from __future__ import annotations

import tusk
from bench.case_job_overhead import one_datum_job_ms
from bench.common import create_repo, newest_job, pipeline_spec, wait_done
from bench.harness import Row, Size, case
from bench.servers import tusk_server

STAGES = 5


def copy_stage(name: str, upstream: str) -> dict[str, object]:
    return pipeline_spec(name, upstream, ["sh", "-c", f'cp "${upstream}" out/'])


@case("dag_latency")
def dag_latency(size: Size) -> list[Row]:
    samples = size.pick(7, 1)
    with tusk_server(datum_workers=2) as (address, _deps), tusk.Client(address) as client:
        create_repo(client, "solo_in")
        client.pps.create_pipeline(copy_stage("solo", "solo_in"))
        wait_done(client, f"solo@{newest_job(client, 'solo').job.id}")
        single_ms = one_datum_job_ms(client, "solo_in", ["solo"], samples)

        create_repo(client, "chain_in")
        names = [f"stage{i}" for i in range(1, STAGES + 1)]
        upstream = "chain_in"
        for name in names:
            client.pps.create_pipeline(copy_stage(name, upstream))
            upstream = name
        wait_done(client, f"{names[-1]}@{newest_job(client, names[-1]).job.id}")
        chain_ms = one_datum_job_ms(client, "chain_in", names, samples)
        for name in names:
            job = newest_job(client, name)
            if (job.data_total, job.data_processed) != (1, 1):
                raise RuntimeError(f"{name}: expected one datum processed, got {job.data_processed}/{job.data_total}")
    base = STAGES * single_ms
    ratio = chain_ms / base
    return [
        Row(f"{STAGES}-pipeline chain, commit -> last SUCCESS", chain_ms, base, "ms", ratio, "<= 1.5", ratio <= 1.5,
            f"baseline = {STAGES} x one-datum job ({single_ms:.1f} ms)",
            against=f"tusk itself: {STAGES} x its own single pipeline, same command"),
    ]  # fmt: skip
