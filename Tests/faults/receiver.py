"""A webhook receiver for the fault tests: verifies each signature and writes one line per POST.

    python3 Tests/faults/receiver.py PORT SECRET_HEX LOG

Each POST is written to LOG (flushed) before it is acknowledged with 204, then an "acked" line
after the answer has gone out; a receiver killed between the two has received without
acknowledging, and the service is right to send again.
"""
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, SECRET, LOG = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
log = open(LOG, "a", buffering=1)
lock = threading.Lock()


def write(record):
    with lock:
        log.write(json.dumps(record) + "\n")
        log.flush()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("X-Hotline-Timestamp", "")
        expected = "sha256=" + hmac.new(SECRET, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Hotline-Signature", ""))
        try:
            document = json.loads(body)
            number, kind, identity = document["case"]["number"], document["kind"], document["id"]
        except (ValueError, KeyError, TypeError):
            number, kind, identity = None, None, None
        delivery = self.headers.get("X-Hotline-Delivery")
        write({"t": time.time(), "delivery": delivery, "id": identity, "kind": kind, "case": number,
               "sha": hashlib.sha256(body).hexdigest(), "signed": signed})
        self.send_response(204 if signed else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        write({"acked": delivery})

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Hook).serve_forever()
