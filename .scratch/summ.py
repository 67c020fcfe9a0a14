import re, sys
from datetime import datetime
lines = open(sys.argv[1]).read().splitlines()
on = False; prev = None; out = []
for l in lines:
    if "MARKSTART" in l: on = True
    if not on: continue
    m = re.match(r"\S+ (\d\d:\d\d:\d\d\.\d+) UTC \[(\d+)\] LOG:  duration: ([\d.]+) ms  (statement|execute [^:]*): (.*)", l)
    if not m: continue
    t = datetime.strptime(m[1], "%H:%M:%S.%f"); 
    gap = (t - prev).total_seconds()*1000 if prev else 0
    prev = t
    print(f"{m[1]} +{gap:5.1f} [{m[2]}] {float(m[3]):6.2f} {m[5][:110]}")
    if "MARKEND" in l: break
