"""The primary killed under intake load in deploy/local-cluster (issue 7).

    python3 Tests/faults/failover.py CLUSTER_DIR

Clients file cases through nginx, each retrying its Idempotency-Key until answered 201. The
primary's PostgreSQL is killed (SIGKILL to the postmaster). Then: writes resume through HAProxy
within 5 s without restarting the service, every acknowledged case is on the new primary, and
the retries made no duplicates.
"""
import os
import signal
import subprocess
import sys
import time

import requests

from intake import Intake

STATE = sys.argv[1]
env = {}
for line in open(os.path.join(STATE, "cluster.env")):
    name, _, value = line.strip().partition("=")
    env[name] = value.strip('"')
tokens = {line.split()[0]: line.split()[2] for line in open(os.path.join(STATE, "tokens.txt")) if "token:" in line}
nodes = dict(item.split("=", 1) for item in env["PATRONI_NODES"].split())
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def leader():
    for name, url in nodes.items():
        try:
            if requests.options(f"{url}/primary", timeout=1).status_code == 200:
                return name
        except requests.RequestException:
            pass
    return None


def psql(sql):
    return subprocess.run(["psql", env["HOTLINE_WRITE_URL"], "-tAc", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


url = env["HOTLINE_URL"]
port = int(url.rsplit(":", 1)[1])
before = leader()
check(before is not None, f"a primary leads before the kill ({before})")
instances = [int(pid) for pid in env["HOTLINE_INSTANCE_PIDS"].split()]
cases_before = int(psql("SELECT count(*) FROM cases"))

with Intake(port, tokens["operator"], workers=8) as load:
    time.sleep(3)
    data = env["PG1_DATA"] if before == "pg1" else env["PG2_DATA"]
    postmaster = int(open(os.path.join(data, "postmaster.pid")).readline())
    killed = time.monotonic()
    os.kill(postmaster, signal.SIGKILL)
    print(f"killed the primary {before} (postmaster {postmaster}) at {time.strftime('%H:%M:%S')}"
          f".{int(time.time() * 1000) % 1000:03d} UTC", flush=True)
    time.sleep(12)

after = leader()
check(after is not None and after != before, f"the standby took over ({before} → {after})")
# Writes resumed: the first 201 for a key first sent after the kill.
resumed = min((load.answered[k] - killed for k in load.answered if load.sent[k] > killed), default=None)
check(resumed is not None and resumed < 5, f"writes resumed through HAProxy {resumed:.2f} s after the kill"
      if resumed is not None else "writes resumed after the kill")
# The longest stretch with no 201 at all, for the record.
times = sorted(load.answered.values())
gap = max((b - a for a, b in zip(times, times[1:])), default=0)
print(f"longest stretch without a 201: {gap:.2f} s; answers: {load.statuses}", flush=True)
check(all(os.path.exists(f"/proc/{pid}") for pid in instances), "both service instances ran through it without a restart")

numbers = set(load.acknowledged.values())
listed = ",".join(f"'{n}'" for n in numbers)
stored = int(psql(f"SELECT count(*) FROM cases WHERE number IN ({listed})")) if numbers else 0
check(len(numbers) > 50 and stored == len(numbers),
      f"all {len(numbers)} acknowledged cases are on the new primary ({stored} found)")
new_cases = int(psql("SELECT count(*) FROM cases")) - cases_before
check(new_cases == len(load.acknowledged),
      f"{len(load.acknowledged)} keys acknowledged, {new_cases} cases made: retries made no duplicates")
check(500 not in load.statuses, f"no 500 ({load.statuses})")

print(f"{len(failures)} failover check(s) failed" if failures else "all failover checks passed", flush=True)
sys.exit(1 if failures else 0)
