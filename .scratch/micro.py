import sys, time, statistics, sqlite3, tempfile, os
sys.path.insert(0, ".")
import psycopg
from bench.postgres import postgres, fresh_store
with postgres() as pg:
    url = fresh_store(pg)
    conn = psycopg.connect(url, autocommit=True)
    q = "SELECT id, project, name, type, description, created_us FROM repos WHERE id = %s"
    for _ in range(50): conn.execute(q, (1,)).fetchone()
    t0 = time.perf_counter(); N = 2000
    for _ in range(N): conn.execute(q, (1,)).fetchone()
    print("pg tcp select us", (time.perf_counter() - t0) / N * 1e6)
    t0 = time.perf_counter()
    for _ in range(500):
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); conn.execute(q, (1,)).fetchone(); conn.execute("ROLLBACK")
    print("pg read tx (3 rt) us", (time.perf_counter() - t0) / 500 * 1e6)
    uconn = psycopg.connect(f"host={pg.root} port={pg.port} user=postgres dbname={url.rsplit('/',1)[1]}", autocommit=True)
    for _ in range(50): uconn.execute(q, (1,)).fetchone()
    t0 = time.perf_counter()
    for _ in range(N): uconn.execute(q, (1,)).fetchone()
    print("pg unix select us", (time.perf_counter() - t0) / N * 1e6)
d = tempfile.mkdtemp()
s = sqlite3.connect(os.path.join(d, "x.db"))
s.execute("create table repos (id integer primary key, project, name, type, description, created_us)")
s.execute("insert into repos values (1,'a','b','c','d',1)"); s.commit()
t0 = time.perf_counter()
for _ in range(N): s.execute("SELECT id, project, name, type, description, created_us FROM repos WHERE id = ?", (1,)).fetchone()
print("sqlite select us", (time.perf_counter() - t0) / N * 1e6)
