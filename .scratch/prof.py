import sys, time, statistics
sys.path.insert(0, ".")
import psycopg
import tusk
from bench.case_job_overhead import prepare, job_ms
from bench.postgres import postgres, fresh_store
from bench.servers import tusk_server

with postgres() as pg:
    url = fresh_store(pg)
    with tusk_server(datum_workers=2, store=url) as (addr, deps), tusk.Client(addr) as c:
        prepare(c)
        adm = psycopg.connect(url, autocommit=True)
        def stat():
            return adm.execute("select xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched from pg_stat_database where datname=current_database()").fetchone()
        adm.execute("select pg_stat_reset()")
        for kind in ("zero", "one"):
            for _ in range(2): job_ms(c, kind, 99)
            time.sleep(0.6)
            s0 = stat(); 
            ts = [job_ms(c, kind, i) for i in range(10)]
            time.sleep(0.6)
            s1 = stat()
            print(kind, "median ms", statistics.median(ts), "per job:", [(b - a) / 10 for a, b in zip(s0, s1)])
        # raw commit latency
        t = []
        adm.execute("create table if not exists zz (x int)")
        for i in range(50):
            t0 = time.perf_counter(); adm.execute("insert into zz values (1)"); t.append(time.perf_counter() - t0)
        print("insert commit ms", statistics.median(t) * 1000)
        t = []
        for i in range(50):
            t0 = time.perf_counter(); adm.execute("select 1"); t.append(time.perf_counter() - t0)
        print("select 1 ms", statistics.median(t) * 1000)
