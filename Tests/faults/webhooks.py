"""Webhooks under faults, with nothing lost (issue 14): run by scripts/test after faults.py.

    python3 Tests/faults/webhooks.py BIN ADMIN_URL PG_CTL DATA_DIR WORK_DIR

Two instances deliver the outbox every second to a receiver on loopback (Tests/faults/receiver.py)
that verifies every signature, while cases are filed on both and dispatched and signed on one.
The receiver is killed (SIGKILL) and started again twice; then one instance is killed with
SIGKILL. At the end every committed event was received at least once, every repeat is identical
to the first and counted, none came after an acknowledgment before the instance's crash (a
repeat follows only a crash between acknowledgment and record), each case's events arrived in
order, none was badly signed, and nothing is parked.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import requests

from harness import WORK, check, failures, free_port, fresh_database, psql, start
from intake import Intake

KEY = secrets.token_hex(32)
env, tokens = fresh_database("fault_hooks", HOTLINE_SECRETS_KEY=KEY)
flags = ("--sweep-interval", "0", "--delivery-interval", "1", "--delivery-first-retry", "1", "--delivery-longest-retry", "2",
         "--delivery-attempts", "100")
first, port1, log1 = start(env, *flags)
second, port2, log2 = start(env, *flags)
auth = lambda who: {"Authorization": f"Bearer {tokens[who]}"}

receiver_port = free_port()
made = requests.post(f"http://127.0.0.1:{port1}/api/v1/subscriptions", headers=auth("admin"), timeout=10,
                     json={"code": "faults", "url": f"http://127.0.0.1:{receiver_port}/hook", "events": ["*"]})
made.raise_for_status()
SECRET = made.json()["secret"]
received_log = os.path.join(WORK, "received.jsonl")


def receiver():
    process = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "receiver.py"), str(receiver_port), SECRET,
                                received_log])
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=0.5)
            return process
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


class Handling:
    """Dispatches and signs, on the instance that stays up, every case the intake had answered."""

    def __init__(self, loads):
        self.loads, self.done, self.stop = loads, set(), threading.Event()
        self.statuses = {}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        session = requests.Session()
        while not self.stop.is_set():
            numbers = set()
            for load in self.loads:
                with load.lock:
                    numbers |= set(load.acknowledged.values())
            for number in sorted(numbers - self.done)[:20]:
                base = f"http://127.0.0.1:{port2}/api/v1/cases/{number}"
                for path, who, body in (("dispatch", "dispatcher", {"lead_unit": "housing"}), ("sign", "handler", None)):
                    r = session.post(f"{base}/{path}", json=body, headers=auth(who), timeout=10)
                    self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                self.done.add(number)
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *args):
        self.stop.set()
        self.thread.join(timeout=30)


hook = receiver()
with Intake(port1, tokens["operator"], workers=3, retry=False) as on_first, Intake(port2, tokens["operator"], workers=3) as on_second:
    with Handling([on_first, on_second]) as handling:
        for _ in range(2):
            time.sleep(3)
            hook.send_signal(signal.SIGKILL)
            hook.wait(timeout=10)
            time.sleep(2)
            hook = receiver()
        time.sleep(3)
        crashed_at = time.time()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        time.sleep(3)

# Everything committed is delivered in the end, by the instance left.
for _ in range(180):
    left = int(psql("fault_hooks", "SELECT count(*) FROM deliveries WHERE status <> 'delivered'"))
    if left == 0:
        break
    time.sleep(0.5)
time.sleep(0.5)
second.terminate()
second.wait(timeout=30)
hook.terminate()
hook.wait(timeout=10)

events = int(psql("fault_hooks", "SELECT count(*) FROM case_events e, unnest(webhook_kinds(e.kind, e.details))"))
deliveries = {int(i) for i in psql("fault_hooks", "SELECT id FROM deliveries").split()}
parked = int(psql("fault_hooks", "SELECT count(*) FROM deliveries WHERE status = 'parked'"))
undelivered = int(psql("fault_hooks", "SELECT count(*) FROM deliveries WHERE status <> 'delivered'"))
acknowledged = set(on_first.acknowledged.values()) | set(on_second.acknowledged.values())
check(len(acknowledged) > 50 and len(handling.done) > 20, f"load: {len(acknowledged)} cases filed, {len(handling.done)} dispatched and signed")
check(500 not in on_first.statuses and 500 not in on_second.statuses and 500 not in handling.statuses,
      f"load: no 500 ({on_first.statuses}, {on_second.statuses}, {handling.statuses})")
check(events == len(deliveries), f"outbox: {len(deliveries)} deliveries for {events} committed events heard of")
check(undelivered == 0 and parked == 0, f"outbox: {undelivered} undelivered, {parked} parked at the end")

lines = [json.loads(line) for line in open(received_log) if line.strip()]
got = [line for line in lines if "delivery" in line]
acked = {line["acked"] for line in lines if "acked" in line}
check(all(line["signed"] for line in got), f"receiver: {sum(not line['signed'] for line in got)} of {len(got)} POSTs badly signed")
received = {int(line["delivery"]) for line in got}
check(deliveries <= received, f"receiver: every delivery received ({len(deliveries - received)} missing of {len(deliveries)})")
numbers = {line["case"] for line in got if line["kind"] == "case.accepted"}
check(acknowledged <= numbers, f"receiver: every acknowledged case's acceptance heard of ({len(acknowledged - numbers)} missing)")

# Repeats: the same id and body every time; none after an acknowledgment until the crash. The
# log is in the order things happened: a POST's line, then its "acked" line once answered.
first_seen, repeats, after_ack_before_crash, differing, order_broken = {}, 0, 0, 0, 0
seen_acked, last_of_case = set(), {}
for line in lines:
    if "acked" in line:
        seen_acked.add(line["acked"])
        continue
    delivery = line["delivery"]
    if delivery in first_seen:
        repeats += 1
        differing += first_seen[delivery]["sha"] != line["sha"] or line["id"] != int(delivery)
        if delivery in seen_acked and line["t"] < crashed_at:
            after_ack_before_crash += 1
    else:
        first_seen[delivery] = line
    # A case's deliveries come in id order: never one before the last already received.
    if last_of_case.get(line["case"], 0) > int(delivery):
        order_broken += 1
    last_of_case[line["case"]] = max(last_of_case.get(line["case"], 0), int(delivery))
late = sum(1 for line in got if line["t"] >= crashed_at)
print(f"     {len(got)} POSTs for {len(deliveries)} deliveries: {repeats} repeats ({late} POSTs after the instance's crash)",
      flush=True)
check(differing == 0, f"repeats: {differing} of {repeats} differ from the first in id or body")
check(after_ack_before_crash == 0, f"repeats: {after_ack_before_crash} after an acknowledgment before the instance crashed")
check(order_broken == 0, f"order: {order_broken} deliveries came after a later one of their case")
for name in (log1, log2):
    text = open(name).read()
    check("unexpected error" not in text and "13812345678" not in text, f"logs: no unexpected error, no phone in {os.path.basename(name)}")

print(f"{len(failures)} webhook fault check(s) failed" if failures else "all webhook fault checks passed", flush=True)
sys.exit(1 if failures else 0)
