"""Whether the pgbench floor script runs the statements a real intake ran.

    python3 same_statements.py SERVER_LOG OFFSET FLOOR_SQL

SERVER_LOG is PostgreSQL's log with log_statement = 'all' from byte OFFSET on, covering one
POST /api/v1/cases; each statement is compared with the floor's whole, with values, parameters,
NULLs and layout aside. Prints what differs and exits 1 if anything does.
"""
import re
import sys

log, offset, floor = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def normalised(sql):
    sql = re.sub(r"\\gset\s*\w*", "", sql)
    sql = re.sub(r"\$\d+|:[a-z_]+|'[^']*'|\bNULL\b", "?", sql).strip().rstrip(";")
    return " ".join(sql.split()).replace("( ", "(").replace(" )", ")")


with open(log, encoding="utf-8", errors="replace") as f:
    f.seek(offset)
    text = f.read()
executed, current = [], None
for line in text.splitlines():
    match = re.search(r"LOG:  execute [^:]*: (.*)", line)
    if match:
        current = [match.group(1)]
        executed.append(current)
    elif line.startswith("\t") and current is not None:
        current.append(line)
    else:
        current = None
# The pool's keep-alive (SELECT 1) is not intake's.
executed = [s for s in (normalised(" ".join(parts)) for parts in executed) if s != "SELECT 1"]

script, statement = [], []
for line in open(floor, encoding="utf-8"):
    stripped = line.strip()
    if not stripped or stripped.startswith("--") or stripped.startswith("\\set"):
        continue
    statement.append(stripped)
    if stripped.endswith(";") or stripped.endswith("\\gset") or "\\gset " in stripped:
        script.append(normalised(" ".join(statement)))
        statement = []

if executed == script:
    print(f"the floor script runs the {len(script)} statements intake ran")
    sys.exit(0)
print(f"intake ran {len(executed)} statements, the floor script has {len(script)}; first difference:")
for i, (a, b) in enumerate(zip(executed + [""] * len(script), script + [""] * len(executed))):
    if a != b:
        print(f"  #{i + 1}: intake  {a!r}\n       floor   {b!r}")
        break
sys.exit(1)
