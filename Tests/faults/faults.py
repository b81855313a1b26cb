"""Faults, with nothing lost (issue 7): run by scripts/test against its throwaway cluster.

    python3 Tests/faults/faults.py BIN ADMIN_URL PG_CTL DATA_DIR WORK_DIR

1. SIGTERM under intake load: the service stops accepting, finishes what is in flight, exits 0,
   and every case acknowledged with 201 is in the database.
2. SIGKILL under intake load: every case acknowledged with 201 is in the database.
3. PostgreSQL restarted under load: the service recovers by itself; requests caught by the
   restart get 503 problems, never 500; clients retrying with their Idempotency-Key make no
   duplicates.
4. Two instances sweeping every second under intake load: each urging exactly once.
5. SIGTERM with PostgreSQL gone (stopped under load): the service still exits within its
   shutdown bound (--shutdown-timeout), and every case acknowledged before is stored.

The service runs as a login in hotline_runtime, as in production; migrations as the owner.
"""
import os
import signal
import subprocess
import sys
import time

import requests

from harness import ADMIN, check, failures, fresh_database, pg_ctl, psql, start, stored
from intake import CASE, Intake


# 1. SIGTERM: graceful.
env, tokens = fresh_database("fault_term")
server, port, log = start(env, "--sweep-interval", "0")
with Intake(port, tokens["operator"], retry=False) as load:
    time.sleep(2)
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
    time.sleep(0.5)
check(code == 0, f"SIGTERM: the service exited 0 (exit {code})")
numbers = set(load.acknowledged.values())
check(len(numbers) > 20 and stored("fault_term", numbers) == len(numbers),
      f"SIGTERM: all {len(numbers)} acknowledged cases are stored")
check(500 not in load.statuses, f"SIGTERM: no 500 ({load.statuses})")

# 2. SIGKILL: nothing acknowledged is lost.
env, tokens = fresh_database("fault_kill")
server, port, log = start(env, "--sweep-interval", "0")
with Intake(port, tokens["operator"], retry=False) as load:
    time.sleep(2)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
numbers = set(load.acknowledged.values())
check(len(numbers) > 20 and stored("fault_kill", numbers) == len(numbers),
      f"SIGKILL: all {len(numbers)} acknowledged cases are stored")

# 3. PostgreSQL restarted under load.
env, tokens = fresh_database("fault_restart")
server, port, log = start(env, "--sweep-interval", "0")
with Intake(port, tokens["operator"]) as load:
    time.sleep(2)
    # The server's output goes to its log, not to this pipe (which would never close).
    pg_ctl("-m", "fast", "-w", "restart")
    time.sleep(4)
acknowledged = len(load.acknowledged)
cases = int(psql("fault_restart", "SELECT count(*) FROM cases"))
check(acknowledged > 20 and cases == acknowledged,
      f"restart: {acknowledged} keys acknowledged, {cases} cases stored (no duplicates, none lost)")
check(500 not in load.statuses, f"restart: no 500 ({load.statuses})")
check(load.statuses.get(503, 0) + load.statuses.get("no answer", 0) > 0,
      f"restart: the restart was felt ({load.statuses})")
after = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
check(after.status_code == 200, "restart: the service recovered without a restart of its own")
server.terminate()
server.wait(timeout=30)

# 4. Two instances sweeping at once, under intake load.
env, tokens = fresh_database("fault_sweep")
first, port1, log1 = start(env, "--sweep-interval", "1", "--test-clock")
second, port2, log2 = start(env, "--sweep-interval", "1", "--test-clock")
auth = lambda who: {"Authorization": f"Bearer {tokens[who]}"}
numbers = []
for _ in range(30):
    r = requests.post(f"http://127.0.0.1:{port1}/api/v1/cases", json=CASE, headers=auth("operator"), timeout=10)
    numbers.append(r.json()["number"])
    requests.post(f"http://127.0.0.1:{port1}/api/v1/cases/{numbers[-1]}/dispatch", json={"lead_unit": "housing"},
                  headers=auth("dispatcher"), timeout=10).raise_for_status()
# Both clocks a month on: every sign, reply and first-contact deadline (the citizen consented to be
# contacted) is past, with its whole ladder.
later = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600 + 31 * 86400))
for p in (port1, port2):
    requests.put(f"http://127.0.0.1:{p}/api/v1/test/clock", json={"now": later}, headers=auth("admin"), timeout=10).raise_for_status()
with Intake(port2, tokens["operator"], workers=3):
    time.sleep(6)
urgings = int(psql("fault_sweep", "SELECT count(*) FROM urgings"))
distinct = int(psql("fault_sweep", "SELECT count(DISTINCT (deadline_id, level)) FROM urgings"))
events = int(psql("fault_sweep", "SELECT count(*) FROM case_events WHERE kind = 'urged'"))
escalations = int(psql("fault_sweep", "SELECT count(*) FROM escalations"))
check(urgings == 30 * 3 * 3 and distinct == urgings and events == urgings,
      f"two instances: {urgings} urgings for 90 late deadlines, {distinct} distinct, {events} timeline events")
check(escalations == 90, f"two instances: {escalations} escalations, one per late deadline")
for process in (first, second):
    process.terminate()
    process.wait(timeout=30)
for name in (log1, log2):
    check("unexpected error" not in open(name).read(), f"two instances: no unexpected error in {os.path.basename(name)}")

# 5. SIGTERM with the database gone: requests in flight wait for connections that never come,
# the pool keeps retrying; the shutdown still ends within its bound.
env, tokens = fresh_database("fault_gone")
server, port, log = start(env, "--sweep-interval", "1", "--shutdown-timeout", "10")
with Intake(port, tokens["operator"], retry=False) as load:
    time.sleep(2)
    # Fast, not immediate: this throwaway cluster runs with synchronous_commit off, and a crash
    # of it would lose commits the service had every right to acknowledge.
    pg_ctl("-m", "fast", "-w", "stop")
    time.sleep(2)
    numbers = set(load.acknowledged.values())
    began = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        code = "still running after 60 s"
    took = time.monotonic() - began
pg_ctl("-w", "start")
check(isinstance(code, int) and took <= 10 + 2, f"database gone: SIGTERM ended the service in {took:.1f} s (exit {code}; bound 10 s)")
check(len(numbers) > 20 and stored("fault_gone", numbers) == len(numbers),
      f"database gone: all {len(numbers)} cases acknowledged before are stored")

print(f"{len(failures)} fault check(s) failed" if failures else "all fault checks passed", flush=True)
sys.exit(1 if failures else 0)
