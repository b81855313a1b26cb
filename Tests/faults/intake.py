"""Clients filing cases under faults: each retries its own Idempotency-Key until answered 201."""
import threading
import time
import uuid

import requests


CASE = {
    "channel": "phone", "type": "complaint", "urgency": "normal", "category": "housing.property",
    "subject": "电梯停运", "description": "3号楼电梯停运。", "location": {"address": "红门路1号", "region": "taishan"},
    "citizen": {"name": "张三", "phone": "13812345678", "contact_consent": True},
}


class Intake:
    """Clients filing cases in a loop, each retrying its own key until it is answered 201."""

    def __init__(self, port, token, workers=6, retry=True, host="127.0.0.1"):
        self.base, self.token, self.retry = f"http://{host}:{port}", token, retry
        # Per key: when its first attempt was sent and when its 201 came (monotonic seconds).
        self.sent, self.answered = {}, {}
        self.acknowledged, self.statuses, self.stop = {}, {}, threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(workers)]

    def run(self):
        session = requests.Session()
        while not self.stop.is_set():
            key = str(uuid.uuid4())
            with self.lock:
                self.sent[key] = time.monotonic()
            # A key once sent is retried to its 201 even after the stop (for a while): its case
            # may be stored already, and only the answer to a retry says so.
            give_up = float("inf")
            while time.monotonic() < give_up:
                if self.stop.is_set() and give_up == float("inf"):
                    give_up = time.monotonic() + 20
                try:
                    r = session.post(f"{self.base}/api/v1/cases", json=CASE, timeout=10,
                                     headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key})
                    with self.lock:
                        self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
                    if r.status_code == 201:
                        with self.lock:
                            self.acknowledged[key] = r.json()["number"]
                            self.answered[key] = time.monotonic()
                        break
                except requests.RequestException:
                    with self.lock:
                        self.statuses["no answer"] = self.statuses.get("no answer", 0) + 1
                if not self.retry:
                    break
                time.sleep(0.05)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *args):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
