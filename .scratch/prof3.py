import sys, time, statistics, traceback, collections, threading
sys.path.insert(0, ".")
import psycopg
import tusk
from bench.case_job_overhead import prepare, job_ms
from bench.postgres import postgres, fresh_store
from bench.servers import tusk_server

kind = sys.argv[1]
counts = collections.Counter()
on = [False]
orig_exec = psycopg.Connection.execute
orig_many = psycopg.Cursor.executemany
def where():
    fs = [f for f in traceback.extract_stack()[:-2] if "tuskd" in f.filename]
    fs = [f for f in fs if "store/" not in f.filename or True]
    return " < ".join(f"{f.filename.split('tuskd/')[-1]}:{f.name}" for f in reversed(fs[-7:]))
def ex(self, query, params=None, **kw):
    if on[0]:
        counts[(str(query)[:40], where())] += 1
    return orig_exec(self, query, params, **kw)
psycopg.Connection.execute = ex
with postgres() as pg:
    url = fresh_store(pg)
    with tusk_server(datum_workers=2, store=url) as (addr, deps), tusk.Client(addr) as c:
        prepare(c)
        for _ in range(3): job_ms(c, kind, 99)
        time.sleep(1)
        N = 5
        on[0] = True
        ts = [job_ms(c, kind, i) for i in range(N)]
        time.sleep(0.5)
        on[0] = False
        print(ts)
        tot = sum(counts.values())
        print("statements per job", tot / N)
        bycaller = collections.Counter()
        for (q, w), n in counts.items():
            bycaller[w.split(" < ")[0:3].__str__()] += n
        for (q, w), n in counts.most_common(60):
            print(f"{n/N:5.1f} {q!r:45} {w}")
