"""The prober: open-loop traffic on loopback, against servers started here.

Every server listens on 127.0.0.1 on a free port and is stopped at the end
of its test (the demo app subprocess by its PID).  Loops are bounded by
time and counts.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from netutil import free_port
from releaselab.errors import UsageError
from releaselab.kube._prober import Prober, parse_response, version_and_pod
from releaselab.timeline import NO_ENDPOINTS, REFUSED, RESET, TIMEOUT

SERVER = Path(__file__).resolve().parents[2] / "cluster" / "app" / "server.py"




class RawServer:
    """A loopback TCP server whose every connection is handled by ``behaviour(conn)``."""

    def __init__(self, behaviour) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        try:
            conn.settimeout(5)
            self.behaviour(conn, self._stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _read_request(conn) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def answer(status=200, body=b'{"version": "2.0", "pod": "web-x"}', headers=(), delay=0.0):
    def behaviour(conn, stop):
        _read_request(conn)
        if delay:
            stop.wait(delay)
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers)
        conn.sendall(head.encode() + b"\r\n" + body)
    return behaviour


@pytest.fixture
def servers():
    made = []

    def make(behaviour):
        srv = RawServer(behaviour)
        made.append(srv)
        return srv
    yield make
    for srv in made:
        srv.close()


def run_for(port, seconds, *, target="web", **kw):
    got = []
    prober = Prober("127.0.0.1", port, target=target, sink=got.append, **kw)
    t0 = time.monotonic()
    prober.start()
    time.sleep(seconds)
    prober.stop()
    assert not prober.running
    return got, prober, time.monotonic() - t0


def test_constant_rate_against_the_demo_app(tmp_path):
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PORT": str(port), "VERSION": "9.9",
           "POD_NAME": "web-test-0", "STARTUP_SECONDS": "0", "LATENCY_MS": "0"}
    proc = subprocess.Popen([sys.executable, str(SERVER)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:       # until it listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        got, prober, _ = run_for(port, 2.0, rps=50)
    finally:
        proc.kill()        # by PID
        proc.wait(5)
    assert 90 <= len(got) <= 110, len(got)        # rps × duration
    assert all(r.ok and r.status == 200 for r in got)
    assert {r.version for r in got} == {"9.9"} and {r.pod for r in got} == {"web-test-0"}
    gaps = [b.t - a.t for a, b in zip(got, got[1:])]
    assert sum(gaps) / len(gaps) == pytest.approx(0.02, rel=0.2)
    assert all(r.latency_ms > 0 for r in got)


def test_open_loop_keeps_sending_while_answers_are_slow(servers):
    slow = servers(answer(delay=0.6))
    got, prober, _ = run_for(slow.port, 1.0, rps=20, timeout_s=2.0)
    # A closed-loop client would have sent 2; the schedule asks for 20.
    assert prober.sent >= 18
    assert len(got) == prober.sent          # every one answered within the timeout and recorded
    assert all(r.ok for r in got) and min(r.latency_ms for r in got) >= 550


def test_closed_port_is_refused():
    port = free_port()          # bound, then released: nothing listens there
    got, _, _ = run_for(port, 0.5, rps=20)
    assert got and {(r.error, r.status) for r in got} == {(REFUSED, None)}


def test_server_slower_than_the_timeout_is_a_timeout(servers):
    srv = servers(answer(delay=3.0))
    got, _, elapsed = run_for(srv.port, 0.5, rps=10, timeout_s=0.3)
    assert got and {(r.error, r.status) for r in got} == {(TIMEOUT, None)}
    assert all(250 <= r.latency_ms <= 1000 for r in got)
    assert elapsed < 2.5          # stop() does not wait for the slow server


def _reset_with_rst(conn, stop):
    _read_request(conn)
    # SO_LINGER 0: close() sends a RST, as a killed process's socket does.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close_silently(conn, stop):
    _read_request(conn)


def _cut_mid_body(conn, stop):
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"version\": ")


@pytest.mark.parametrize("behaviour", [_reset_with_rst, _close_silently, _cut_mid_body])
def test_socket_closed_mid_request_is_a_reset(servers, behaviour):
    srv = servers(behaviour)
    got, _, _ = run_for(srv.port, 0.5, rps=10)
    assert got and {(r.error, r.status) for r in got} == {(RESET, None)}


def test_version_from_json_or_header(servers):
    srv = servers(answer(body=b"plain text", headers=[("X-Version", "1.1-bad")], status=500))
    got, _, _ = run_for(srv.port, 0.3, rps=10)
    assert got and all(r.version == "1.1-bad" and r.status == 500 and r.error is None
                       and r.cause == "http_500" for r in got)
    assert version_and_pod({}, b'{"version": "3.1", "pod": "p"}') == ("3.1", "p")
    assert version_and_pod({"x-version": "3.0"}, b"") == ("3.0", None)


def test_gateway_503_without_a_backend_is_no_endpoints(servers):
    srv = servers(answer(status=503, body=b"no healthy upstream"))
    got, _, _ = run_for(srv.port, 0.3, rps=10, target="gateway/web")
    assert got and {(r.status, r.error, r.target) for r in got} == {(503, NO_ENDPOINTS,
                                                                      "gateway/web")}
    # The same answer from a Service is the app's own 503, not a missing backend.
    got, _, _ = run_for(srv.port, 0.3, rps=10, target="web")
    assert {(r.status, r.error) for r in got} == {(503, None)}


def test_poisson_arrivals_keep_the_mean_rate(servers):
    srv = servers(answer())
    got, _, _ = run_for(srv.port, 2.0, rps=50, poisson=True)
    assert 70 <= len(got) <= 130
    gaps = [b.t - a.t for a, b in zip(got, got[1:])]
    assert max(gaps) > 2 * min(gaps)      # not a fixed interval


@pytest.mark.parametrize("kw", [dict(rps=0), dict(rps=float("nan")), dict(rps=float("inf")),
                                dict(rps=True), dict(rps="5"), dict(rps=5, timeout_s=0),
                                dict(rps=5, timeout_s=float("nan")),
                                dict(rps=5, timeout_s=float("inf"))])
def test_bad_arguments(kw):
    with pytest.raises(UsageError):
        Prober("127.0.0.1", 1, target="web", sink=print, **kw)


def test_bad_response_is_a_value_error():
    with pytest.raises(ValueError):
        parse_response(b"garbage")


def _never_answer(conn, stop):
    _read_request(conn)
    stop.wait(30)


@pytest.mark.parametrize("rps", [200, 100_000])
def test_stops_within_a_second_whatever_the_rate_and_caps_sockets(servers, rps):
    """Issue 10 item 6: a server that never answers, at a modest and an absurd rate."""
    srv = servers(_never_answer)
    got = []
    prober = Prober("127.0.0.1", srv.port, target="web", rps=rps, sink=got.append,
                    timeout_s=0.4, max_in_flight=64, clock=time.monotonic)
    prober.start()
    time.sleep(1.0)
    t_stop = time.monotonic()
    prober.stop()
    took = time.monotonic() - t_stop
    assert not prober.running
    assert took < 0.4 + 1.0                          # the client timeout, plus under a second
    assert max(r.t for r in got) <= t_stop + 0.05    # nothing sent after stop()
    assert prober.peak_in_flight <= 64
    assert got and all(r.error == TIMEOUT for r in got)
    assert len(got) == prober.sent                   # every request sent is recorded
    if rps > 1000:
        assert prober.skipped > 0                    # and what could not be sent is counted


def test_behind_schedule_it_still_yields_so_answers_come_back(servers):
    srv = servers(answer())
    got = []
    prober = Prober("127.0.0.1", srv.port, target="web", rps=100_000, sink=got.append,
                    timeout_s=1.0, max_in_flight=32)
    prober.start()
    time.sleep(1.0)
    prober.stop()
    assert not prober.running
    ok = [r for r in got if r.ok]
    assert len(ok) >= 20                             # the loop was not starved by its schedule
    assert prober.skipped > 0 and prober.peak_in_flight <= 32
