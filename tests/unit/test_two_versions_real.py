"""Two versions at once against REAL server processes, a real PostgreSQL and a real Redis.

No cluster here, so the test plays kube-proxy itself: a tiny balancer that
routes each new connection to one of the current backends, and "rolls" from
one version to the next by starting a new server process (which runs its
MIGRATE before listening), adding it, then taking the old one out and
stopping it — the two versions serve side by side for a while, as in a
rolling update. The clients are the kind backend's own user prober
(releaselab.kube._users.UserProber): cookies, orders, the audit.

What must hold, as on the simulator: the naive release fails requests of
the old version and loses no order; expand/migrate/contract fails none and
loses none; a backfill while the old code still writes loses orders; a
release logs users out when sessions live in memory, and not in Redis.
"""

import random
import threading
import time

from test_app_server import start  # noqa: F401  (the local-process fixture)

from releaselab.kube._users import UserProber
from releaselab.timeline import Timeline

OVERLAP_S = 0.8       # both versions serve this long at each step
PRESTOP_S = 1.0       # a removed backend serves this long before it is stopped
RPS = 40
USERS = 8


class Balancer:
    """kube-proxy in miniature: each new connection goes to a random current backend.

    As with kube-proxy's rules, nothing relays the bytes: the prober asks
    :meth:`route` where to connect and connects there itself.  Taking a backend
    out (:meth:`remove`) waits ``PRESTOP_S`` before the caller stops it, as a
    preStop sleep does, so a connection routed just before the removal still
    finds the server listening, and the graceful server drains what it accepted.
    """

    def __init__(self):
        self.backends: list[int] = []
        self.lock = threading.Lock()
        self.rng = random.Random(0)

    def add(self, server):
        with self.lock:
            self.backends.append(server.port)

    def remove(self, server):
        with self.lock:
            self.backends.remove(server.port)
        time.sleep(PRESTOP_S)

    def route(self, t):
        with self.lock:
            return "127.0.0.1", self.rng.choice(self.backends)


def shop(start, pg, version, schema, migrate, **env):
    """One shop server, once *it* listens (its migration first: a loaded machine is slow).

    Its own "listening on port N" line is the signal, not a connection to N: while it
    migrates, a server of another test that took the same free port would answer, and the
    balancer would send this test's users to it.
    """
    for _ in range(3):
        server = start(wait=False, VERSION=version, POD_NAME=f"web-{version}-{migrate}",
                       SCHEMA=schema, MIGRATE=migrate, DATABASE_URL=pg.url,
                       SHUTDOWN="graceful", **env)
        began = time.monotonic()
        while time.monotonic() - began < 30:
            if f"listening on port {server.port}" in server.log():
                server.started_in = time.monotonic() - began
                return server
            if server.proc.poll() is not None:
                break
            time.sleep(0.02)
        if "cannot listen" not in server.log():
            raise AssertionError(f"shop {version} never listened:\n{server.log()}")
    raise AssertionError(f"no free port could be bound:\n{server.log()}")


def users(balancer, timeline, workload):
    """The kind backend's user prober, started, against the balancer."""
    t0 = time.monotonic()
    host, port = balancer.route(0.0)        # for the Host header; each connection is routed
    return UserProber(host, port, users=USERS, workload=workload, route=balancer.route,
                      timeline=timeline, target="web", rps=RPS, sink=timeline.requests.append,
                      clock=lambda: time.monotonic() - t0, timeout_s=3).start()


def release(balancer, start, pg, steps):
    """Serve steps[0], then roll to each next one with OVERLAP_S of both; returns the Timeline."""
    timeline = Timeline()
    current = shop(start, pg, *steps[0])
    balancer.add(current)
    prober = users(balancer, timeline, "orders")
    try:
        time.sleep(1.0)                                  # orders written before the release
        for step in steps[1:]:
            new = shop(start, pg, *step)                 # migrates before it listens
            balancer.add(new)
            time.sleep(OVERLAP_S)
            balancer.remove(current)                     # routed-before-removal ones land
            current.terminate()
            current = new
        time.sleep(1.0)
    finally:
        prober.stop()
    return timeline


def test_the_naive_release_fails_the_old_versions_requests_on_real_postgres(pg, start):
    balancer = Balancer()
    timeline = release(balancer, start, pg, [("5.0", "name", 1), ("5.1", "split", 4)])
    failed = [q for q in timeline.requests if not q.ok]
    assert len(failed) >= 5, f"only {len(failed)} failed of {len(timeline.requests)}"
    assert {q.cause for q in failed} == {"schema"} and {q.version for q in failed} == {"5.0"}
    assert timeline.orders and {o.audit for o in timeline.orders} == {"intact"}


def test_expand_migrate_contract_fails_nothing_and_loses_nothing_on_real_postgres(pg, start):
    balancer = Balancer()
    timeline = release(balancer, start, pg, [("5.0", "name", 1), ("5.1-both", "both", 2),
                                             ("5.1", "split", 3), ("5.1", "split", 4)])
    assert [q for q in timeline.requests if not q.ok] == []
    assert len(timeline.orders) > 40 and {o.audit for o in timeline.orders} == {"intact"}
    assert {q.version for q in timeline.requests} == {"5.0", "5.1-both", "5.1"}


def test_a_backfill_while_the_old_code_still_writes_loses_orders_on_real_postgres(pg, start):
    balancer = Balancer()
    timeline = release(balancer, start, pg, [("5.0", "name", 1), ("5.1-both", "both", 3),
                                             ("5.1", "split", 4)])
    lost = [o for o in timeline.orders if o.lost]
    assert lost and {o.version for o in lost} == {"5.0"}
    assert all("no customer name" in o.why for o in lost)


def test_memory_sessions_log_users_out_and_redis_sessions_do_not(pg, rd, start):
    for store, expect_logouts in (("memory", True), (rd.url, False)):
        balancer = Balancer()
        timeline = _sessions(balancer, start, pg, store)
        users = {x.user for x in timeline.logouts}
        assert bool(users) == expect_logouts, (store, len(users))
        assert all(q.ok for q in timeline.requests) != expect_logouts
        assert any(q.op == "me" and q.ok for q in timeline.requests)


def _sessions(balancer, start, pg, store):
    timeline = Timeline()
    old = shop(start, pg, "5.0", "name", 1, SESSION_STORE=store)
    balancer.add(old)
    prober = users(balancer, timeline, "sessions")
    try:
        time.sleep(1.0)
        new = shop(start, pg, "5.1", "split", 4, SESSION_STORE=store)
        balancer.add(new)
        balancer.remove(old)                     # a Recreate-like step: one pod at a time
        time.sleep(1.0)
    finally:
        prober.stop()
    return timeline
