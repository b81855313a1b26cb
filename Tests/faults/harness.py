"""What the fault scripts share: the service under test, its database, the cluster, checks.

Every script takes the same arguments: BIN ADMIN_URL PG_CTL DATA_DIR WORK_DIR.
"""
import os
import shlex
import socket
import subprocess
import sys
import time

import requests

BIN, ADMIN, PG_CTL, DATA, WORK = sys.argv[1:6]
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(database, sql):
    url = ADMIN.replace("/postgres?", f"/{database}?")
    return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


def fresh_database(name, **extra):
    subprocess.run(["psql", ADMIN, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    owner = dict(os.environ, DATABASE_URL=ADMIN.replace("/postgres?", f"/{name}?"))
    subprocess.run([BIN, "migrate"], env=owner, check=True, capture_output=True)
    subprocess.run(["psql", ADMIN, "-q", "-c", "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_faults') "
                    "THEN CREATE ROLE hotline_faults LOGIN IN ROLE hotline_runtime; END IF; END $$"], check=True, capture_output=True)
    env = dict(os.environ, DATABASE_URL=ADMIN.replace("/postgres?", f"/{name}?").replace("postgres@", "hotline_faults@", 1), **extra)
    seeded = subprocess.run([BIN, "seed", "demo"], env=env, check=True, capture_output=True, text=True).stdout
    users.update(demo_users(seeded))
    return env, {label: user["token"] for label, user in users.items()}


# The demo's users as `seed demo` printed them: LABEL token: T login: L password: P.
users = {}


def demo_users(text):
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[1] == "token:":
            fields = dict(zip(words[1::2], words[2::2]))
            found[words[0]] = {"token": fields["token:"], "login": fields.get("login:"), "password": fields.get("password:")}
    return found


# How the cluster was started (its port, its socket folder), to start it again the same way.
OPTIONS = shlex.join(o for o in shlex.split(open(os.path.join(DATA, "postmaster.opts")).read())[1:] if o not in ("-D", DATA))


def pg_ctl(*arguments):
    if arguments[-1] == "start":
        arguments = ("-o", OPTIONS, *arguments)
    command = [PG_CTL, "-D", DATA, "-l", os.path.join(os.path.dirname(DATA), "server.log"), *arguments]
    subprocess.run(["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start(env, *flags):
    port = free_port()
    log = open(os.path.join(WORK, f"serve-{port}.log"), "w")
    process = subprocess.Popen([BIN, "serve", "--port", str(port), "--metrics-port", "0", *flags], env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).ok:
                return process, port, log.name
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the service did not start")


def stored(database, numbers):
    if not numbers:
        return 0
    listed = ",".join(f"'{n}'" for n in numbers)
    return int(psql(database, f"SELECT count(*) FROM cases WHERE number IN ({listed})"))
