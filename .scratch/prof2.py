import sys, time, statistics
sys.path.insert(0, ".")
import psycopg
import tusk
from bench.case_job_overhead import prepare, job_ms
from bench.postgres import postgres, fresh_store
from bench.servers import tusk_server

kind = sys.argv[1]
with postgres() as pg:
    url = fresh_store(pg)
    adm = psycopg.connect(url, autocommit=True)
    adm.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
    adm.execute("ALTER SYSTEM SET log_line_prefix = '%m [%p] '")
    adm.execute("select pg_reload_conf()")
    with tusk_server(datum_workers=2, store=url) as (addr, deps), tusk.Client(addr) as c:
        prepare(c)
        for _ in range(3): job_ms(c, kind, 99)
        time.sleep(1)
        print("MARK", time.time())
        adm.execute("select 'MARKSTART'")
        print(job_ms(c, kind, 1))
        adm.execute("select 'MARKEND'")
        time.sleep(0.5)
    import shutil
    shutil.copy(pg.root / "server.log", "/work/wt-pgbench/.scratch/server.log")
