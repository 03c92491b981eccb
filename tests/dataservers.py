"""Real PostgreSQL and Redis servers for the tests, from Debian's packages.

Each runs as a local process on 127.0.0.1 on a free port, with its data in a
temporary directory, and is stopped by its own PID. No mock database: the
demo app's state (cluster/app/state.py) and the simulator's model of it are
both tested against these.

PostgreSQL refuses to run as root, so when the tests run as root the server
runs as ``nobody`` (its data directory is chowned to it).

Where the packages are missing the tests that need them are skipped with the
install command; under ``RELEASELAB_REQUIRE_REAL_DATA=1`` (set by .ci/run,
which installs them) they fail instead, so CI can never pass without them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from netutil import free_port

INSTALL = "apt-get install -y postgresql redis-server"
PASSWORD = "releaselab"
USER = "releaselab"
DATABASE = "postgres"


def _missing(what: str):
    message = f"{what} not found: install it ({INSTALL})"
    if os.environ.get("RELEASELAB_REQUIRE_REAL_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    _missing("the PostgreSQL server (postgres, initdb)")


def _wait(check, what: str, proc: subprocess.Popen, log: Path, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not become ready in {timeout:g} s:\n{log.read_text()[-2000:]}")


def _stop(proc, signum) -> None:
    """Stop one server by its PID: ``signum``, then SIGKILL if it has not exited in 15 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signum)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return None


class Postgres:
    """One PostgreSQL server: ``url`` to reach it, ``stop()`` / ``start()`` by PID."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="releaselab-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.as_user = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.as_user = (nobody.pw_uid, nobody.pw_gid)
            os.chown(self.root, *self.as_user)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_user:
            os.chown(pwfile, *self.as_user)
        done = subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
             "--auth", "scram-sha-256", "--locale", "C", "--encoding", "UTF8", "--no-sync"],
            capture_output=True, text=True, timeout=60, **self._as_user())
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-1000:]}")
        self.start()

    def _as_user(self) -> dict:
        return {"user": self.as_user[0], "group": self.as_user[1]} if self.as_user else {}

    @property
    def url(self) -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def url_with(self, *, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{DATABASE}"

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                 "-p", str(self.port), "-k", str(self.root), "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=50", "-c", "shared_buffers=16MB"],
                stdout=log, stderr=subprocess.STDOUT, **self._as_user())
        _wait(self.ready, "postgres", self.proc, self.log)

    def ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster), by PID."""
        self.proc = _stop(self.proc, signal.SIGINT)

    def reset(self) -> None:
        """An empty database again: no orders, no schema_migrations."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS orders, schema_migrations")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """One redis-server: ``url``; ``stop()`` / ``start()`` by PID."""

    def __init__(self) -> None:
        self.bin = shutil.which("redis-server")
        if self.bin is None:
            _missing("redis-server")
        self.root = Path(tempfile.mkdtemp(prefix="releaselab-redis-"))
        self.log = self.root / "redis.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [self.bin, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        _wait(self.ready, "redis-server", self.proc, self.log)

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1,
                                    socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        self.proc = _stop(self.proc, signal.SIGTERM)

    def reset(self) -> None:
        import redis

        redis.Redis(host="127.0.0.1", port=self.port).flushall()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    server = Postgres()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server():
    server = Redis()
    yield server
    server.close()


@pytest.fixture
def pg(postgres_server):
    """The session's PostgreSQL, emptied for this test (and started again if a test stopped it)."""
    if postgres_server.proc is None:
        postgres_server.start()
    postgres_server.reset()
    return postgres_server


@pytest.fixture
def rd(redis_server):
    """The session's Redis, emptied for this test (and started again if a test stopped it)."""
    if redis_server.proc is None:
        redis_server.start()
    redis_server.reset()
    return redis_server
