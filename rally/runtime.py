"""Find (or start) the database and the broker for `make run` and `make test`.

Run as `python -m rally.runtime [--for-tests]`: prints `KEY=value` lines for the Makefile.
Order (DESIGN.md "Runtime"): an environment variable; else the local service on its
standard port; else an embedded default under .var/; else a clear error.
- Database: DATABASE_URL; Postgres on 127.0.0.1:5432; a private cluster from the machine's
  PostgreSQL binaries under .var/postgres (as the `postgres` user when run as root).
- Broker: REDIS_URL; Redis on 127.0.0.1:6379; for `make run`, Celery's filesystem transport
  under .var/celery; for tests (which need a real Redis), a redis-server under .var/redis.
This module imports nothing from Django: it runs before settings can be loaded.
"""

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / ".var"
PRIVATE_PG_PORT = 54329
PRIVATE_REDIS_PORT = 63799
DATABASE_NAME = "rally"


class RuntimeProblem(Exception):
    pass


def answers(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_for(host, port, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(host, port):
            return True
        time.sleep(0.2)
    return False


def _postgres_bin(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _as_postgres_user(command):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _ensure_database(url):
    """Create the database named in `url` when the server has no such database yet."""
    from urllib.parse import parse_qs, urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or DATABASE_NAME
    query = parse_qs(parsed.query)
    params = {
        "dbname": "postgres",
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "host": parsed.hostname or query.get("host", [None])[0],
        "port": parsed.port or int(query.get("port", ["5432"])[0]),
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _private_postgres():
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeProblem(
            "No database: DATABASE_URL is not set, nothing answers on 127.0.0.1:5432, and no "
            "PostgreSQL binaries (initdb, pg_ctl) are installed. Start one with "
            "`docker compose up -d db`, or install PostgreSQL, or set DATABASE_URL.")
    data = VAR / "postgres"
    sockets = VAR / "postgres-socket"
    for folder in (data, sockets):
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
    if os.geteuid() == 0:
        shutil.chown(VAR, "postgres", "postgres")
    if not (data / "PG_VERSION").exists():
        subprocess.run(_as_postgres_user(
            [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]),
            check=True, stdout=subprocess.DEVNULL)
    if not answers("127.0.0.1", PRIVATE_PG_PORT):
        options = (f"-p {PRIVATE_PG_PORT} -k {sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        subprocess.run(_as_postgres_user(
            [pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-o", options, "-w",
             "start"]), check=True, stdout=subprocess.DEVNULL)
    return f"postgres://postgres@127.0.0.1:{PRIVATE_PG_PORT}/{DATABASE_NAME}"


def database_url():
    url = os.environ.get("DATABASE_URL")
    if not url:
        if answers("127.0.0.1", 5432):
            url = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
        else:
            url = _private_postgres()
    _ensure_database(url)
    return url


def _private_redis():
    server = shutil.which("redis-server")
    if not server:
        return None
    folder = VAR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    if not answers("127.0.0.1", PRIVATE_REDIS_PORT):
        subprocess.run([server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
                        str(PRIVATE_REDIS_PORT), "--save", "", "--appendonly", "no",
                        "--dir", str(folder), "--logfile", str(folder / "redis.log")],
                       check=True)
        _wait_for("127.0.0.1", PRIVATE_REDIS_PORT)
    return f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/1"


def broker_url(for_tests):
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    # Tests use their own Redis database, so a running `make run` never sees their messages.
    database = 1 if for_tests else 0
    if answers("127.0.0.1", 6379):
        return f"redis://127.0.0.1:6379/{database}"
    if not for_tests:
        return "filesystem://"
    private = _private_redis()
    if private is None:
        raise RuntimeProblem(
            "The tests need a real Redis: set REDIS_URL, start redis-server on 127.0.0.1:6379, "
            "or install Redis (apt-get install redis-server).")
    return private


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--for-tests", action="store_true",
                        help="the test suite needs a real Redis, not the filesystem transport")
    args = parser.parse_args(argv)
    try:
        lines = [f"DATABASE_URL={database_url()}", f"REDIS_URL={broker_url(args.for_tests)}"]
    except (RuntimeProblem, subprocess.CalledProcessError) as problem:
        print(f"rally: {problem}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
