"""Failure attribution on the real backend, checked against a local fake where the truth is known.

Issue 10 item 4.  On kind a refused connection names no pod; the kit infers
which endpoint it was sent to from the EndpointSlice and pod watches
(``releaselab._attribution``).  Here:

- the "pods" are real demo-app processes (``cluster/app/server.py``) on
  loopback ports, with ``SHUTDOWN=immediate``: SIGTERM closes the listener
  and cuts requests in flight, as on a node;
- kube-proxy is :class:`FakeKubeProxy`: each new connection goes to one of
  the endpoints it has programmed, chosen at random, and it programs an
  EndpointSlice change ``LAG`` seconds after it happened — the window in
  which a deleted pod still gets connections.  It logs where every request
  really went: the truth;
- "the watch" is this test writing the Timeline as the kube backend's
  watches would (pod records, EndpointSlice changes, at the moments they
  happen);
- the client is the kind backend's real Prober, which records refused and
  reset requests without a pod, exactly as on kind.

Then the attribution is compared with the truth, request by request.
"""

from __future__ import annotations

import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from netutil import free_port
from releaselab._attribution import LAG_MARGIN_S, PROXY_LAG_S, _Routable, attribute, estimate_lag
from releaselab.checks.shutdown import classify, termination_table
from releaselab.kube._prober import Prober
from releaselab.timeline import REFUSED, RESET, EndpointChange, PodRecord, Timeline

SERVER = Path(__file__).resolve().parents[2] / "cluster" / "app" / "server.py"
LAG = 0.6                 # fake kube-proxy's sync delay (real: up to ~1 s; the kit allows 1.5)
RPS = 100


class FakeKubeProxy:
    """Routes each new connection to a programmed endpoint; logs the truth per request."""

    def __init__(self, closed_port: int, seed: int = 7) -> None:
        self.closed_port = closed_port
        self.rng = random.Random(seed)
        self.changes: list[tuple[float, str, object]] = []      # (effective t, pod, port|None)
        self.truth: dict[float, object] = {}
        self.lock = threading.Lock()

    def program(self, t_seen: float, pod: str, port) -> None:
        with self.lock:
            self.changes.append((t_seen + LAG, pod, port))

    def __call__(self, t: float) -> tuple[str, int]:
        with self.lock:
            table: dict[str, int] = {}
            for effective, pod, port in sorted(self.changes, key=lambda c: c[0]):
                if effective > t:
                    break
                if port is None:
                    table.pop(pod, None)
                else:
                    table[pod] = port
            pod = self.rng.choice(sorted(table)) if table else None
            assert t not in self.truth
            self.truth[t] = pod
        return "127.0.0.1", table[pod] if pod else self.closed_port


class FakeCluster:
    """Pods as processes; the Timeline written as the watches would write it."""

    def __init__(self, timeline: Timeline, proxy: FakeKubeProxy, clock) -> None:
        self.timeline, self.proxy, self.clock = timeline, proxy, clock
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.deleted: dict[str, float] = {}

    def start(self, name: str, startup_s: float = 0.0) -> None:
        port = free_port()
        env = {"PATH": os.environ.get("PATH", ""), "PORT": str(port), "VERSION": "3.0",
               "POD_NAME": name, "STARTUP_SECONDS": str(startup_s), "LATENCY_MS": "150",
               "SHUTDOWN": "immediate"}
        self.procs[name] = subprocess.Popen([sys.executable, str(SERVER)], env=env,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
        self.ports[name] = port

    def listening(self, name: str) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.ports[name])) == 0

    def wait_listening(self, name: str, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not self.listening(name):
            assert time.monotonic() < deadline, f"{name} never listened"
            time.sleep(0.02)

    def ready(self, name: str) -> None:
        """Its endpoint is ready (no readiness probe: as soon as the container started)."""
        t = self.clock()
        record = PodRecord(name=name, replicaset="web-x", deployment="web", version="3.0",
                           created=t, scheduled=t, started=t, ready=t)
        self.timeline.add_pod(record)
        self.timeline.endpoints.append(EndpointChange(round(t, 3), "web", name, True, True,
                                                      True, False))
        self.proxy.program(t, name, self.ports[name])

    def delete(self, name: str) -> None:
        """The API deletion: terminating, the endpoint marked so, SIGTERM — and kube-proxy lags."""
        t = self.clock()
        self.deleted[name] = t
        self.timeline.pod(name).terminating = round(t, 3)
        self.timeline.endpoints.append(EndpointChange(round(t, 3), "web", name, True, False,
                                                      False, True))
        self.proxy.program(t, name, None)
        self.procs[name].send_signal(signal.SIGTERM)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def _truth_why(pod, t, cluster) -> str:
    if pod is None:
        return "no_endpoints"
    return "stopped_too_early" if pod in cluster.deleted and t >= cluster.deleted[pod] \
        else "not_listening_yet"


@pytest.fixture(scope="module")
def recorded():
    """One scripted rollout-like run (about 9 s of real time), recorded once for every test."""
    t0 = time.monotonic()

    def clock() -> float:
        return time.monotonic() - t0

    timeline = Timeline()
    proxy = FakeKubeProxy(closed_port=free_port())
    cluster = FakeCluster(timeline, proxy, clock)
    try:
        for name in ("web-a", "web-b", "web-c"):
            cluster.start(name)
        for name in ("web-a", "web-b", "web-c"):
            cluster.wait_listening(name)
            cluster.ready(name)
        time.sleep(LAG)                                   # let the proxy program all three
        prober = Prober("127.0.0.1", proxy.closed_port, target="web", rps=RPS,
                        sink=timeline.requests.append, clock=clock, timeout_s=1.0,
                        route=proxy).start()
        time.sleep(1.0)
        cluster.delete("web-a")                           # the endpoint race
        time.sleep(PROXY_LAG_S + 0.3)                     # web-a out of every candidate set
        cluster.start("web-d", startup_s=0.8)             # ready before it listens
        cluster.ready("web-d")
        cluster.wait_listening("web-d")
        time.sleep(PROXY_LAG_S + 0.3)
        cluster.delete("web-b")
        time.sleep(PROXY_LAG_S + 0.3)
        cluster.delete("web-c")                           # two at once: ambiguous pods
        cluster.delete("web-d")
        time.sleep(LAG + 1.2)                             # then no endpoint at all
        prober.stop()
    finally:
        cluster.stop_all()
    return types.SimpleNamespace(timeline=timeline, proxy=proxy, cluster=cluster,
                                 requests=list(timeline.requests))


def test_every_failure_kind_happened(recorded):
    failed = [q for q in recorded.requests if not q.ok]
    assert all(q.pod is None for q in failed if q.error in (REFUSED, RESET))   # as on kind
    whys = {_truth_why(recorded.proxy.truth[q.t], q.t, recorded.cluster)
            for q in failed if q.error == REFUSED}
    assert whys == {"stopped_too_early", "not_listening_yet", "no_endpoints"}, whys
    assert any(q.error == RESET for q in failed)


def _in_band(q, cluster) -> bool:
    """After the last pods went, between the fake's real lag and the lag the kit estimated:
    "no endpoints" or "stopped too early" cannot be told apart there (see _attribution)."""
    since = q.t - cluster.deleted["web-c"]
    return LAG - 0.1 <= since <= LAG + LAG_MARGIN_S + 0.05


def test_the_run_measures_kube_proxys_lag(recorded):
    tl = recorded.timeline
    routable = _Routable(tl.endpoints)
    first = {i: a for i, a in attribute(tl, recorded.requests).items()}
    lag = estimate_lag(recorded.requests, first, routable)
    assert LAG - 0.15 <= lag - LAG_MARGIN_S <= LAG + 0.02, lag


def test_attribution_matches_the_truth(recorded):
    tl, truth, cluster = recorded.timeline, recorded.proxy.truth, recorded.cluster
    got = attribute(tl, recorded.requests)
    checked = ambiguous = band = 0
    for i, q in enumerate(recorded.requests):
        if q.ok:
            continue
        a = got[i]
        pod = truth[q.t]
        # web-c and web-d go at the same moment: both terminating and routable, so the
        # reason is certain but the pod a best guess between the two.
        both_going = pod is not None and {"web-c", "web-d"} >= {pod, a.pod} and \
            q.t + q.latency_ms / 1000 >= cluster.deleted.get("web-c", math.inf)
        if q.error == RESET:
            assert a.why == "cut_in_flight" and (a.pod == pod or both_going), (q, a, pod)
            checked += not both_going
            continue
        assert q.error == REFUSED and a.inferred, (q, a)
        if a.why != _truth_why(pod, q.t, cluster):
            assert _in_band(q, cluster), (q, a, pod)
            band += 1
            continue
        if both_going:
            ambiguous += 1
            continue
        assert a.pod == pod, (q, a, pod)
        checked += 1
    assert checked >= 20 and band <= 0.2 * RPS


def test_classify_and_termination_table_give_real_numbers(recorded):
    tl, truth, cluster = recorded.timeline, recorded.proxy.truth, recorded.cluster
    run = types.SimpleNamespace(lab=types.SimpleNamespace(timeline=tl), requests=recorded.requests,
                                start=0.0, end=None)
    counts = classify(run)
    expected: dict = {}
    for q in recorded.requests:
        if q.error == REFUSED:
            key = _truth_why(truth[q.t], q.t, cluster)
        elif q.error == RESET:
            key = "cut_in_flight"
        else:
            continue
        expected[key] = expected.get(key, 0) + 1
    band = sum(1 for q in recorded.requests if q.error == REFUSED and _in_band(q, cluster))
    assert set(counts) == set(expected)
    assert sum(abs(counts[k] - expected[k]) for k in expected) <= 2 * band
    assert sum(counts.values()) == sum(expected.values())
    table = termination_table(run)
    for pod in ("web-a", "web-b"):          # deleted alone: exact per-pod numbers
        refused = sum(1 for q in recorded.requests if q.error == REFUSED and truth[q.t] == pod)
        cut = sum(1 for q in recorded.requests if q.error == RESET and truth[q.t] == pod)
        assert (table.loc[pod, "refused"], table.loc[pod, "cut"]) == (refused, cut)
    assert table.loc["web-a", "refused"] > 0      # the race shows, where it read 0 before
    both = sum(1 for q in recorded.requests if q.error == REFUSED
               and truth[q.t] in ("web-c", "web-d") and q.t >= cluster.deleted["web-c"])
    assert abs(table.loc["web-c", "refused"] + table.loc["web-d", "refused"] - both) <= band


def test_without_endpoint_records_a_podless_refusal_is_no_endpoints():
    """The simulator's case: no EndpointSlice table, so a refusal without a pod reached none."""
    tl = Timeline()
    from releaselab.timeline import Request

    tl.requests.append(Request(1.0, "web", None, None, None, REFUSED, 0.2))
    (a,) = attribute(tl, tl.requests).values()
    assert (a.pod, a.why, a.inferred) == (None, "no_endpoints", False)
