"""The demo app's state rows (cluster/app/README.md) against a REAL PostgreSQL and Redis.

The servers are Debian's `postgres` and `redis-server`, started by the fixtures
in tests/dataservers.py on 127.0.0.1 and stopped by PID. The real server runs
as a local process (the `start` fixture of test_app_server.py); the SQL layer
is also driven in-process, where every (SCHEMA, schema version) pair and every
migration step is compared with the simulator's model of the same table.
"""

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from netutil import free_port
from test_app_server import SERVER, start  # noqa: F401  (the local-process fixture)

APP = Path(__file__).resolve().parents[2] / "cluster" / "app"
sys.path.insert(0, str(APP))
import migrate  # noqa: E402
import state  # noqa: E402

from releaselab.sim.appstate import AppState, StateConfig  # noqa: E402
from releaselab.sim.database import Database  # noqa: E402


def call(server, method, path, body=None, cookie=None, raw=None):
    """(status, headers, JSON body) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text
        return resp.status, resp.headers, payload
    finally:
        conn.close()


def login(server, user="u001"):
    status, headers, body = call(server, "POST", "/login", {"user": user})
    assert status == 200, body
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
    return cookie.split(";")[0].split("=", 1)[1]


# --------------------------------------------------------------------------- stateless default

def test_without_database_there_are_no_orders_and_no_driver_is_imported(start):
    server = start()
    assert call(server, "POST", "/orders", {"customer": "A B", "item": "x"})[0] == 404
    assert call(server, "GET", "/orders/1")[0] == 404
    assert call(server, "POST", "/")[0] == 405
    assert call(server, "PUT", "/")[0] == 501
    # Loading the server (its modules, its config) imports neither driver and opens nothing.
    probe = ("import runpy, sys, socket; opened = []\n"
             "socket.socket.connect = lambda *a: opened.append(a)\n"
             f"m = runpy.run_path({str(SERVER)!r}, run_name='not_main')\n"
             "cfg = m['parse_config']({'VERSION': '1', 'DATABASE_URL': 'postgresql://u:p@h/d',"
             " 'SESSION_STORE': 'redis://h:6379/0'})\n"
             "m['App'](cfg)\n"
             "print(sorted(n for n in ('psycopg', 'redis') if n in sys.modules), opened)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=30, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == "[] []", out.stderr


# --------------------------------------------------------------------------- sessions

def test_memory_sessions_live_in_one_process(start):
    a, b = start(POD_NAME="web-a"), start(POD_NAME="web-b")
    assert call(a, "POST", "/login", {"user": "bad user!"})[0] == 400
    assert call(a, "POST", "/login", raw=b"{not json")[0] == 400
    cookie = login(a)
    status, headers, body = call(a, "GET", "/me", cookie=cookie)
    assert (status, body["user"], body["pod"]) == (200, "u001", "web-a")
    assert headers["X-Version"] == "9.9"
    assert call(a, "GET", "/me")[2]["error"] == "unauthenticated"
    assert call(a, "GET", "/me", cookie="forged")[0] == 401
    assert call(b, "GET", "/me", cookie=cookie)[0] == 401      # another pod: unknown


def test_token_sessions_work_wherever_the_secret_is_the_same(start):
    a = start(SESSION_STORE="token", SESSION_SECRET="s3cret")
    b = start(SESSION_STORE="token", SESSION_SECRET="s3cret")
    other = start(SESSION_STORE="token", SESSION_SECRET="another")
    cookie = login(a, "alice")
    assert call(b, "GET", "/me", cookie=cookie)[2]["user"] == "alice"
    assert call(other, "GET", "/me", cookie=cookie)[0] == 401
    user, mac = cookie.split(".")
    assert call(b, "GET", "/me", cookie=f"{user}.{'0' * len(mac)}")[0] == 401


def test_redis_sessions_are_shared_and_a_redis_outage_costs_only_them(start, rd):
    a = start(SESSION_STORE=rd.url, POD_NAME="web-a")
    b = start(SESSION_STORE=rd.url, POD_NAME="web-b")
    cookie = login(a)
    assert call(b, "GET", "/me", cookie=cookie)[2]["user"] == "u001"
    rd.stop()
    for _ in range(3):
        status, _, body = call(b, "GET", "/me", cookie=cookie)
        assert (status, body["error"]) == (503, "store_unavailable")
    assert call(b, "POST", "/login", {"user": "u002"})[0] == 503
    for path in ("/", "/healthz", "/readyz"):
        assert call(b, "GET", path)[0] == 200, path
    rd.start()
    assert call(b, "GET", "/me", cookie=login(b, "u003"))[2]["user"] == "u003"
    log = b.log()
    assert log.count("session store unreachable") == 1 and "Connection refused" in log
    assert log.count("session store reachable again") == 1


# --------------------------------------------------------------------------- orders, real vs model

def _real(pg_url, schema):
    cfg = state.parse({"DATABASE_URL": pg_url, "SCHEMA": schema}, migrate.latest())
    return state.State(cfg, log=lambda message: None)


def _setup(pg, model, version):
    """Both databases at ``version`` with one order (id 1, "Grace Brewster Hopper") in them."""
    import psycopg

    pg.reset()
    with psycopg.connect(pg.url, autocommit=True) as conn:
        if version:
            migrate.migrate(conn, 1)
            model.migrate(1)
            real = _real(pg.url, "name")._write(json.dumps(
                {"customer": "Grace Brewster Hopper", "item": "tea"}).encode())
            assert model.write_order("name", "Grace Brewster Hopper", "tea") == real.body["id"]
            migrate.migrate(conn, version)
            model.migrate(version)


def _shape(status, body):
    body = dict(body)
    return status, body.get("error"), body.get("detail"), body.get("customer"), body.get("id")


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_every_schema_on_every_schema_version_answers_as_the_model(pg, version):
    for schema in ("name", "both", "split"):
        model = Database()
        _setup(pg, model, version)
        real = _real(pg.url, schema)
        sim = AppState(StateConfig(database_url="postgresql://x", schema=schema), None, "p")
        sim._database = lambda: (model, None)
        got = real._write(json.dumps({"customer": "Ada Lovelace", "item": "mug"}).encode())
        expected = sim.write("Ada Lovelace", "mug")
        assert _shape(got.status, got.body) == _shape(expected[0], expected[1]), \
            (schema, version)
        for order_id in (1, 2, 99):
            got, expected = real._read(order_id), sim.read(order_id)
            assert _shape(got.status, got.body) == _shape(expected[0], expected[1]), \
                (schema, version, order_id)


def _pg_state(conn):
    """(columns with nullability, rows) of the real orders table, as the model keeps them."""
    columns = conn.execute(
        "SELECT column_name, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_name = 'orders' AND column_name NOT IN ('id', 'created_at') "
        "ORDER BY ordinal_position").fetchall()
    if not columns:
        return None, []
    names = [c for c, _ in columns]
    rows = conn.execute(f"SELECT id, {', '.join(names)} FROM orders ORDER BY id").fetchall()
    return dict(columns), [dict(zip(["id", *names], r)) for r in rows]


def test_every_migration_step_up_and_down_matches_the_model(pg):
    import psycopg

    model = Database()
    writes = {1: ["name"], 2: ["name", "both", "split"], 3: ["name", "split"], 4: ["split"]}
    with psycopg.connect(pg.url, autocommit=True) as conn:
        for version in range(1, 5):
            assert migrate.migrate(conn, version) == model.migrate(version)
            for n, schema in enumerate(writes[version]):
                customer = ("Ada Lovelace", "Grace Brewster Hopper", "Plato")[n]
                real = _real(pg.url, schema)._write(json.dumps(
                    {"customer": customer, "item": schema}).encode())
                assert real.body["id"] == model.write_order(schema, customer, schema)
            assert _pg_state(conn) == (model.columns, model.rows), version
        for version in range(3, -1, -1):
            assert migrate.migrate(conn, version, allow_down=True) == \
                model.migrate(version, allow_down=True)
            assert _pg_state(conn) == (model.columns or None, model.rows), version
        assert migrate.current(conn) == model.version == 0


# --------------------------------------------------------------------------- start-up, outages

def test_migrate_at_start_runs_once_whoever_starts_first(pg, start):
    servers = [start(wait=False, DATABASE_URL=pg.url, MIGRATE=4, POD_NAME=f"web-{i}")
               for i in range(3)]
    for server in servers:
        server.wait_serving(timeout=15)
    import psycopg

    with psycopg.connect(pg.url) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY version"
                            ).fetchall() == [(1,), (2,), (3,), (4,)]
    logs = [s.log() for s in servers]
    assert sum("migrated the database from schema version 0 to 4" in log for log in logs) == 1
    assert sum("MIGRATE=4 has nothing to do" in log for log in logs) == 2


def test_migrate_that_cannot_reach_the_database_exits_1_with_one_line():
    env = {"PATH": os.environ.get("PATH", ""), "VERSION": "5.0", "MIGRATE": "1",
           "DATABASE_URL": f"postgresql://shop:shop@127.0.0.1:{free_port()}/shop",
           "STARTUP_SECONDS": "0"}
    proc = subprocess.run([sys.executable, str(SERVER)], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    failures = [line for line in proc.stderr.splitlines() if "cannot" in line]
    assert len(failures) == 1 and "MIGRATE=1: cannot reach the database" in failures[0]


def test_a_database_outage_costs_only_the_orders_and_is_logged_once_each_way(pg, start):
    server = start(DATABASE_URL=pg.url, MIGRATE=1)
    order = {"customer": "Ada Lovelace", "item": "tea"}
    assert call(server, "POST", "/orders", order)[0] == 201
    pg.stop()
    for _ in range(3):
        status, _, body = call(server, "POST", "/orders", order)
        assert (status, body["error"]) == (503, "db_unavailable")
    assert call(server, "GET", "/orders/1")[0] == 503
    for path in ("/", "/healthz", "/readyz"):
        assert call(server, "GET", path)[0] == 200, path
    assert call(server, "POST", "/login", {"user": "u001"})[0] == 200
    pg.start()
    status, _, body = call(server, "GET", "/orders/1")
    assert (status, body["customer"]) == (200, "Ada Lovelace")
    log = server.log()
    assert log.count("database unreachable") == 1 and log.count("database reachable again") == 1


def test_a_wrong_password_is_a_503_that_says_so(pg, start):
    server = start(DATABASE_URL=pg.url_with(password="nope"))
    status, _, body = call(server, "POST", "/orders", {"customer": "A B", "item": "x"})
    assert (status, body["error"]) == (503, "db_unavailable")
    assert "password authentication failed" in body["detail"]


@pytest.mark.parametrize("name,value", [
    ("DATABASE_URL", "mysql://u:p@db/shop"), ("DATABASE_URL", "postgresql:///nohost"),
    ("SCHEMA", "fancy"), ("MIGRATE", "9"), ("MIGRATE", "two"), ("MIGRATE", "-1"),
    ("SESSION_STORE", "disk"), ("SESSION_STORE", "redis://"),
])
def test_bad_state_value_stops_the_server_with_a_one_line_message(name, value):
    env = {"PATH": os.environ.get("PATH", ""), "VERSION": "5.0", name: value}
    proc = subprocess.run([sys.executable, str(SERVER)], env=env, capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "accepts" in lines[0], proc.stderr


def test_token_store_without_a_secret_is_refused_at_start():
    env = {"PATH": os.environ.get("PATH", ""), "VERSION": "5.0", "SESSION_STORE": "token"}
    proc = subprocess.run([sys.executable, str(SERVER)], env=env, capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2 and "SESSION_SECRET" in proc.stderr


def test_bodies_that_are_too_big_or_not_json_are_refused(pg, start):
    server = start(DATABASE_URL=pg.url, MIGRATE=1)
    assert call(server, "POST", "/orders", raw=b"x" * 5000)[0] == 413
    assert call(server, "POST", "/orders", raw=b"[1, 2]")[0] == 400
    assert call(server, "POST", "/orders", {"customer": "", "item": "tea"})[0] == 400
    assert call(server, "DELETE", "/orders/1")[0] == 501
    assert call(server, "POST", "/orders/1")[0] == 405
