"""SQL of the PPS tables: pipelines, jobs, job change history, datums and datum outputs.

Appended to the migration list in migrations.py as one step; never edit a shipped statement,
add a new step instead.
"""

from __future__ import annotations

PPS_CORE = (
    # One row per pipeline (its current version); every version's spec is kept in
    # pipeline_versions so a job can always show the spec it ran with.
    """
    CREATE TABLE pipelines (
        id          INTEGER PRIMARY KEY,
        project     TEXT NOT NULL,
        name        TEXT NOT NULL,
        version     INTEGER NOT NULL,
        state       INTEGER NOT NULL,
        stopped     INTEGER NOT NULL DEFAULT 0,
        reason      TEXT NOT NULL DEFAULT '',
        created_us  INTEGER NOT NULL,
        updated_us  INTEGER NOT NULL,
        UNIQUE (project, name)
    )
    """,
    """
    CREATE TABLE pipeline_versions (
        pipeline_id    INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        version        INTEGER NOT NULL,
        spec_json      TEXT NOT NULL,
        user_spec_json TEXT NOT NULL DEFAULT '',
        created_us     INTEGER NOT NULL,
        PRIMARY KEY (pipeline_id, version)
    )
    """,
    # The row id orders jobs by creation: listings page on it, newest first.
    """
    CREATE TABLE jobs (
        id               INTEGER PRIMARY KEY,
        project          TEXT NOT NULL,
        pipeline         TEXT NOT NULL,
        job_id           TEXT NOT NULL,
        pipeline_version INTEGER NOT NULL,
        output_repo      TEXT NOT NULL,
        output_branch    TEXT NOT NULL,
        state            INTEGER NOT NULL,
        reason           TEXT NOT NULL DEFAULT '',
        restart          INTEGER NOT NULL DEFAULT 0,
        processed        INTEGER NOT NULL DEFAULT 0,
        skipped          INTEGER NOT NULL DEFAULT 0,
        failed           INTEGER NOT NULL DEFAULT 0,
        recovered        INTEGER NOT NULL DEFAULT 0,
        total            INTEGER NOT NULL DEFAULT 0,
        download_time    REAL NOT NULL DEFAULT 0,
        process_time     REAL NOT NULL DEFAULT 0,
        upload_time      REAL NOT NULL DEFAULT 0,
        download_bytes   INTEGER NOT NULL DEFAULT 0,
        upload_bytes     INTEGER NOT NULL DEFAULT 0,
        created_us       INTEGER NOT NULL,
        started_us       INTEGER NOT NULL DEFAULT 0,
        finished_us      INTEGER NOT NULL DEFAULT 0,
        seq              INTEGER NOT NULL DEFAULT 0,
        UNIQUE (project, pipeline, job_id)
    )
    """,
    "CREATE INDEX jobs_by_set ON jobs (job_id)",
    "CREATE INDEX jobs_by_pipeline ON jobs (project, pipeline, id)",
    "CREATE INDEX jobs_by_state ON jobs (state, id)",
    # Per-job-set change counter, so a WaitJob on a whole set numbers its messages densely.
    """
    CREATE TABLE job_sets (
        set_id     TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL DEFAULT 0,
        created_us INTEGER NOT NULL
    )
    """,
    # Every change of every job, with the job as it was after the change: WaitJob replays
    # these to a client that resumes with after_seq.
    """
    CREATE TABLE job_events (
        id       INTEGER PRIMARY KEY,
        job_row  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        set_id   TEXT NOT NULL,
        job_seq  INTEGER NOT NULL,
        set_seq  INTEGER NOT NULL,
        at_us    INTEGER NOT NULL,
        snapshot TEXT NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX job_events_by_job ON job_events (job_row, job_seq)",
    "CREATE UNIQUE INDEX job_events_by_set ON job_events (set_id, set_seq)",
    """
    CREATE TABLE datums (
        job_row     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        datum_id    TEXT NOT NULL,
        hash        TEXT NOT NULL,
        state       INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        reason      TEXT NOT NULL DEFAULT '',
        inputs_json TEXT NOT NULL DEFAULT '[]',
        process_time REAL NOT NULL DEFAULT 0,
        download_bytes INTEGER NOT NULL DEFAULT 0,
        upload_bytes INTEGER NOT NULL DEFAULT 0,
        updated_us  INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (job_row, datum_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX datums_by_state ON datums (job_row, state)",
    # What each successful datum wrote, so a later job can carry it over when it skips the datum.
    """
    CREATE TABLE datum_outputs (
        job_row  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        datum_id TEXT NOT NULL,
        path     TEXT NOT NULL,
        blob     TEXT NOT NULL,
        size     INTEGER NOT NULL,
        PRIMARY KEY (job_row, datum_id, path)
    ) WITHOUT ROWID
    """,
)


# Migration 4: the outcome a restarted datum already counted is a column, no longer parsed back
# out of its reason. Rows written before it (STARTING with reason ``restarted; was FAILED``) get
# it from that text, once; the reason stays as it was (people read it).
_DATUM_STATE_NUMBERS = {"UNKNOWN": 0, "FAILED": 1, "SUCCESS": 2, "SKIPPED": 3, "STARTING": 4, "RECOVERED": 5}
_RESTARTED_PREFIX = "restarted; was "

PPS_DATUM_COUNTED: tuple[str, ...] = (
    "ALTER TABLE datums ADD COLUMN counted INTEGER",
    *(
        f"UPDATE datums SET counted = {number} WHERE state = 4 AND counted IS NULL"
        f" AND (reason = '{_RESTARTED_PREFIX}{name}' OR reason LIKE '{_RESTARTED_PREFIX}{name}:%')"
        for name, number in _DATUM_STATE_NUMBERS.items()
    ),
)
