#!/usr/bin/env python3
"""dbcmp.py A.db B.db - are two crm SQLite files the same data?

Every table's rows, compared as multisets of (storage class, value) per
column, so an integer that came back as text or a blob that came back as
text is a difference; attrs compared as JSON (PostgreSQL keeps it as
jsonb, which orders keys its own way). Also sqlite_sequence and the
triggers. Prints the differences; exits 1 if there are any."""
import json
import sqlite3
import sys

a, b = (sqlite3.connect(p) for p in sys.argv[1:3])
tables = [r[0] for r in a.execute(
    "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by rowid")]
bad = 0


def rows(c, t, cols):
    sel = ", ".join(f'typeof("{x}"), "{x}"' for x in cols)
    out = []
    for r in c.execute(f'select {sel} from "{t}"'):
        r = list(r)
        for i, x in enumerate(cols):
            if x == "attrs" and r[2 * i + 1] is not None:
                r[2 * i + 1] = json.dumps(json.loads(r[2 * i + 1]), sort_keys=True)
        out.append(tuple(r))
    return sorted(out, key=repr)


for t in tables:
    cols = [r[1] for r in a.execute(f'pragma table_info("{t}")')]
    ra, rb = rows(a, t, cols), rows(b, t, cols)
    if ra != rb:
        bad += 1
        sb = set(rb)
        print(f"{t}: {len(ra)} rows vs {len(rb)}; first that differs: {str([x for x in ra if x not in sb][:1])[:300]}")
for what, sql in (("sqlite_sequence", "select name, seq from sqlite_sequence"),
                  ("triggers", "select name, sql from sqlite_master where type = 'trigger'"),
                  ("indexes", "select name, sql from sqlite_master where type = 'index'")):
    x, y = sorted(a.execute(sql).fetchall()), sorted(b.execute(sql).fetchall())
    if x != y:
        bad += 1
        print(f"{what} differ")
print(f"{len(tables)} tables, {bad} differ")
sys.exit(1 if bad else 0)
