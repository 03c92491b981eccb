"""The real demo server (cluster/app/server.py) against its behaviour table.

Each test starts the server as a local subprocess on a free port, exactly as
the image's CMD would (no Docker needed), talks to it over TCP and checks one
row of cluster/app/README.md. Processes are stopped by their own PID.
"""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from netutil import free_port

SERVER = Path(__file__).resolve().parents[2] / "cluster" / "app" / "server.py"




class Server:
    """One server process and the helpers to talk to it."""

    def __init__(self, proc, port, log_path, ready_file=None):
        self.proc, self.port, self.log_path = proc, port, log_path
        self.ready_file = Path(ready_file) if ready_file else None

    def get(self, path="/", timeout=5):
        """(status, headers, body) of one request on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read().decode()
        finally:
            conn.close()

    def refuses(self):
        """True if a new TCP connection is refused right now."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            # A connect racing the listener's close can see the backlog's RST
            # instead of a refusal: either way, the server no longer accepts.
            return True
        return False

    def wait_serving(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited early:\n{self.log()}"
            if not self.refuses():
                return
            time.sleep(0.02)
        raise AssertionError(f"server never listened:\n{self.log()}")

    def send_raw_get(self, path="/"):
        """A connected socket with a GET already sent (the answer is still to come)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        return sock

    def log(self):
        return self.log_path.read_text()

    def terminate(self):
        os.kill(self.proc.pid, signal.SIGTERM)


@pytest.fixture
def start(tmp_path):
    """start(**env) -> Server; wait=False returns before it listens."""
    procs = []

    def _start(wait=True, **env):
        for _ in range(3):  # another process may bind our free port first: pick again
            server = _spawn(env)
            if not wait:
                return server
            try:
                server.wait_serving()
                return server
            except AssertionError:
                if server.proc.poll() is None or "cannot listen" not in server.log():
                    raise
        raise AssertionError(f"no port could be bound:\n{server.log()}")

    def _spawn(env):
        port = free_port()
        full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1",
                    "VERSION": "9.9", "POD_NAME": "web-test-0", "PORT": str(port),
                    "STARTUP_SECONDS": "0", "LATENCY_MS": "0",
                    "READY_FILE": str(tmp_path / f"ready-{port}")}
        full_env.update({k: str(v) for k, v in env.items() if v is not None})
        for k in [k for k, v in env.items() if v is None]:  # None: leave unset (default)
            full_env.pop(k, None)
        log_path = tmp_path / f"server-{port}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, str(SERVER)], env=full_env,
                                    stdout=subprocess.DEVNULL, stderr=log)
        procs.append(proc)
        return Server(proc, port, log_path, full_env.get("READY_FILE"))

    yield _start
    for proc in procs:  # by PID, never by name
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)


def test_root_reports_version_and_pod_in_json_and_header(start):
    server = start(VERSION="1.1", POD_NAME="web-abc12")
    status, headers, body = server.get("/")
    assert status == 200
    assert json.loads(body) == {"version": "1.1", "pod": "web-abc12"}
    assert headers["X-Version"] == "1.1"
    assert headers["Content-Type"] == "application/json"
    assert server.get("/?probe=1")[0] == 200  # a query string is still `GET /`


def test_healthz_and_readyz_answer_while_serving(start):
    server = start()
    assert server.get("/healthz")[::2] == (200, "ok")
    assert server.get("/readyz")[::2] == (200, "ready")
    assert server.get("/nope")[0] == 404


def test_never_ready_keeps_readyz_503_but_stays_live(start):
    server = start(NEVER_READY=1)
    for _ in range(3):
        assert server.get("/readyz")[0] == 503
    assert server.get("/healthz")[0] == 200
    assert server.get("/")[0] == 200


def test_defaults_apply_when_variables_are_unset(start):
    began = time.monotonic()
    server = start(wait=False, POD_NAME=None, STARTUP_SECONDS=None, LATENCY_MS=None)
    server.wait_serving()
    assert time.monotonic() - began >= 1.0  # STARTUP_SECONDS defaults to 1
    status, _, body = server.get("/")
    assert json.loads(body)["pod"] == socket.gethostname()  # POD_NAME defaults to the host name
    t0 = time.monotonic()
    statuses = [server.get("/")[0] for _ in range(20)]
    assert (time.monotonic() - t0) / 20 >= 0.005  # LATENCY_MS defaults to 5
    assert statuses == [200] * 20  # ERROR_RATE defaults to 0
    assert server.get("/readyz")[0] == 200  # NEVER_READY defaults to 0


def test_startup_seconds_refuses_connections_then_serves(start):
    began = time.monotonic()
    server = start(wait=False, STARTUP_SECONDS=0.8)
    assert server.refuses()
    time.sleep(0.4)  # half-way: the process runs but must not listen yet
    assert server.proc.poll() is None and server.refuses()
    server.wait_serving()
    assert time.monotonic() - began >= 0.8
    assert server.get("/")[0] == 200
    assert "listening" in server.log()


def test_latency_ms_delays_every_answer_probes_included(start):
    server = start(LATENCY_MS=200)
    for path in ("/", "/healthz", "/readyz"):
        t0 = time.monotonic()
        server.get(path)
        assert time.monotonic() - t0 >= 0.2, path


def error_sequence(server, n):
    statuses = []
    for _ in range(n):
        status, headers, body = server.get("/")
        statuses.append(status)
        if status == 500:
            assert json.loads(body) == {"version": "9.9", "pod": "web-test-0", "error": "injected"}
            assert headers["X-Version"] == "9.9"
    return statuses


def test_error_rate_fraction_is_seeded_and_repeatable(start):
    n = 200
    first = error_sequence(start(ERROR_RATE=0.3, SEED=7), n)
    again = error_sequence(start(ERROR_RATE=0.3, SEED=7), n)
    other = error_sequence(start(ERROR_RATE=0.3, SEED=8), n)
    assert set(first) == {200, 500}
    assert abs(first.count(500) / n - 0.3) < 0.08
    assert first == again  # same SEED, same sequence
    assert first != other  # the SEED really drives the draw
    # The documented draw: the n-th GET / fails iff Random("SEED:POD_NAME")'s n-th value < ERROR_RATE.
    rng = random.Random("7:web-test-0")
    assert first == [500 if rng.random() < 0.3 else 200 for _ in range(n)]
    # ... which is exactly the draw of the simulator's model of the same pod.
    from releaselab.sim.app import AppConfig, AppProcess

    config = AppConfig.from_env({"VERSION": "9.9", "ERROR_RATE": "0.3", "SEED": "7"})
    model = AppProcess(config, 0.0, AppProcess.rng_seed(config, "web-test-0"))
    assert first == [model.answer(1.0) for _ in range(n)]


def test_error_rate_bounds_and_probes_never_fail(start):
    assert set(error_sequence(start(ERROR_RATE=1), 10)) == {500}
    server = start(ERROR_RATE=1)
    assert server.get("/healthz")[0] == 200 and server.get("/readyz")[0] == 200


@pytest.mark.parametrize("name,value", [
    ("ERROR_RATE", "lots"), ("ERROR_RATE", "1.5"), ("ERROR_RATE", "nan"),
    ("SHUTDOWN", "later"), ("PORT", "http"), ("PORT", "70000"),
    ("STARTUP_SECONDS", "-1"), ("LATENCY_MS", "fast"), ("NEVER_READY", "yes"),
    ("DRAIN_SECONDS", "inf"), ("SEED", "1.5"), ("VERSION", ""),
    # values it cannot honour (they overflowed a sleep or a wait later on)
    ("STARTUP_SECONDS", "1e10"), ("LATENCY_MS", "1e300"), ("DRAIN_SECONDS", "1e300"),
    ("STARTUP_SECONDS", "3600.5"), ("LATENCY_MS", "600001"), ("READY_FILE", "ready"),
])
def test_bad_value_stops_the_server_with_a_one_line_message(name, value):
    env = {"PATH": os.environ.get("PATH", ""), "VERSION": "1.0", name: value}
    proc = subprocess.run([sys.executable, str(SERVER)], env=env, capture_output=True,
                          text=True, timeout=10)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert name in lines[0] and "accepts" in lines[0]
    # The simulator's model of the server refuses the same value with the same words.
    from releaselab.sim.app import AppConfig, BadAppConfig

    with pytest.raises(BadAppConfig) as refused:
        AppConfig.from_env({"VERSION": "1.0", name: value})
    assert lines[0] == f"releaselab/web: {refused.value}"


def _server_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("releaselab_web_server", SERVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EDGES = [("STARTUP_SECONDS", v) for v in ("0", "3600", "3600.000001", "1e3", " 5 ", "1_0", "-0")] \
    + [("LATENCY_MS", v) for v in ("600000", "600000.1", "0.5", "infinity", "-inf")] \
    + [("DRAIN_SECONDS", v) for v in ("3600", "3601", "")] \
    + [("ERROR_RATE", v) for v in ("0", "1", "1.0000001", "-0.0")] \
    + [("PORT", v) for v in ("1", "65535", "0", "8080.0", " 80")] \
    + [("SEED", v) for v in ("-7", "1e3", "0x10", "9" * 20)] \
    + [("NEVER_READY", v) for v in ("0", "1", "true")] \
    + [("SHUTDOWN", v) for v in ("graceful", "Immediate", "ignore")] \
    + [("READY_FILE", v) for v in ("/dev/shm/ready", "/tmp/x", "tmp/x", "")] \
    + [("VERSION", v) for v in ("3.0", " ", "\t")]


@pytest.mark.parametrize("name,value", EDGES)
def test_model_and_server_accept_and_refuse_the_same_values(name, value):
    # The README table's ranges, checked edge by edge on both implementations.
    from releaselab.sim.app import AppConfig, BadAppConfig

    server = _server_module()
    env = {"VERSION": "1.0", name: value}
    try:
        cfg = server.parse_config(env)
        real = None
    except server.ConfigError as error:
        real = str(error)
    try:
        model = AppConfig.from_env(env)
        mine = None
    except BadAppConfig as error:
        mine = str(error)
    assert mine == real, (name, value)
    if real is None:
        assert (model.port, model.startup_s, model.error_rate, model.latency_ms, model.drain_s,
                model.seed, model.never_ready, model.shutdown, model.ready_file) == (
            cfg.port, cfg.startup_seconds, cfg.error_rate, cfg.latency_ms, cfg.drain_seconds,
            cfg.seed, cfg.never_ready, cfg.shutdown, cfg.ready_file)


def test_sigterm_graceful_finishes_in_flight_and_refuses_new(start):
    server = start(SHUTDOWN="graceful", LATENCY_MS=1500, DRAIN_SECONDS=5)
    result = {}
    client = threading.Thread(target=lambda: result.update(answer=server.get("/")))
    client.start()
    time.sleep(0.3)  # the request is now in flight (it takes 1.5 s)
    sent = time.monotonic()
    server.terminate()
    deadline = time.monotonic() + 0.5
    while not server.refuses():  # the listener closes at once
        assert time.monotonic() < deadline, "still accepting after SIGTERM"
        time.sleep(0.01)
    client.join(timeout=5)
    assert result["answer"][0] == 200
    assert server.proc.wait(timeout=5) == 0
    # It exits when nothing is left in flight, well before DRAIN_SECONDS.
    assert time.monotonic() - sent < 3
    # (the count may include our own refusal probe if it beat the listener's close)
    assert "listener closed, draining" in server.log() and "drained" in server.log()


def test_sigterm_graceful_gives_up_after_drain_seconds(start):
    server = start(SHUTDOWN="graceful", LATENCY_MS=5000, DRAIN_SECONDS=0.5)
    sock = server.send_raw_get()
    time.sleep(0.2)
    sent = time.monotonic()
    server.terminate()
    assert server.proc.wait(timeout=3) == 0
    assert 0.5 <= time.monotonic() - sent < 2
    with sock, pytest.raises(OSError):  # the cut request never gets its answer
        if not sock.recv(1024):
            raise OSError("closed without an answer")
    assert "drain limit reached" in server.log()


def test_sigterm_graceful_idle_exits_at_once(start):
    server = start(SHUTDOWN="graceful", DRAIN_SECONDS=5)
    sent = time.monotonic()
    server.terminate()
    assert server.proc.wait(timeout=3) == 0
    assert time.monotonic() - sent < 1


def test_sigterm_immediate_resets_in_flight_and_exits(start):
    server = start(SHUTDOWN="immediate", LATENCY_MS=1500)
    sock = server.send_raw_get()
    time.sleep(0.3)
    sent = time.monotonic()
    server.terminate()
    with sock, pytest.raises(ConnectionResetError):  # a reset, not a tidy close
        sock.recv(1024)
    assert server.proc.wait(timeout=2) == 128 + signal.SIGTERM
    assert time.monotonic() - sent < 1
    assert server.refuses()


def test_sigterm_ignore_keeps_serving_until_sigkill(start):
    server = start(SHUTDOWN="ignore")
    server.terminate()
    time.sleep(0.3)
    assert server.proc.poll() is None
    assert server.get("/")[0] == 200 and server.get("/readyz")[0] == 200
    assert "ignored" in server.log()
    os.kill(server.proc.pid, signal.SIGKILL)
    assert server.proc.wait(timeout=2) == -signal.SIGKILL


def test_sigterm_during_startup_exits_without_listening(start):
    server = start(wait=False, STARTUP_SECONDS=5)
    deadline = time.monotonic() + 5
    while "starting" not in server.log():  # its SIGTERM handler is installed by then
        assert time.monotonic() < deadline and server.proc.poll() is None, server.log()
        time.sleep(0.02)
    server.terminate()
    assert server.proc.wait(timeout=2) == 0


def test_port_in_use_stops_the_server_with_one_line(start):
    with socket.create_server(("", free_port())) as taken:
        server = start(wait=False, PORT=taken.getsockname()[1])
        assert server.proc.wait(timeout=5) == 1
    assert "cannot listen on port" in server.log().splitlines()[-1]


def raw_exchange(server, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
])
def test_every_answer_carries_x_version_errors_included(start, request_bytes, status):
    server = start(VERSION="4.2")
    answer = raw_exchange(server, request_bytes)
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].split()[1] == str(status), head[0]
    assert "X-Version: 4.2" in head[1:], head


def test_ready_file_exists_exactly_while_the_server_accepts(start):
    server = start(wait=False, STARTUP_SECONDS=0.5, SHUTDOWN="graceful")
    server.ready_file.write_text("left by an earlier run\n")
    deadline = time.monotonic() + 5
    while "starting" not in server.log():      # the stale file goes at start
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.02)
    time.sleep(0.1)
    assert server.refuses() and not server.ready_file.exists()
    server.wait_serving()
    deadline = time.monotonic() + 2
    while not server.ready_file.exists():        # written right after listen()
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.01)
    assert server.ready_file.read_text().startswith("9.9 listening on port")
    # `cat READY_FILE` as an exec probe would run it: exit code 0 now ...
    assert subprocess.run(["cat", str(server.ready_file)], capture_output=True).returncode == 0
    server.terminate()
    assert server.proc.wait(timeout=5) == 0
    # ... and 1 once SIGTERM closed the listener.
    assert not server.ready_file.exists()
    assert subprocess.run(["cat", str(server.ready_file)], capture_output=True).returncode == 1


def test_never_ready_writes_no_ready_file_and_ignore_keeps_it(start):
    never = start(NEVER_READY=1)
    time.sleep(0.2)
    assert not never.ready_file.exists()
    ignoring = start(SHUTDOWN="ignore")
    time.sleep(0.2)
    assert ignoring.ready_file.exists()
    ignoring.terminate()
    time.sleep(0.3)
    assert ignoring.ready_file.exists() and ignoring.get("/")[0] == 200   # still serving


def test_unwritable_ready_file_is_one_log_line_and_the_server_serves(start, tmp_path):
    server = start(READY_FILE=str(tmp_path / "no-such-dir" / "ready"))
    assert server.get("/")[0] == 200
    assert any("cannot write READY_FILE" in line for line in server.log().splitlines())


@pytest.mark.parametrize("shutdown", ["graceful", "ignore"])
def test_sigint_ends_it_like_sigterm_immediate_without_a_traceback(start, shutdown):
    server = start(SHUTDOWN=shutdown, LATENCY_MS=1500)
    sock = server.send_raw_get()
    time.sleep(0.3)
    os.kill(server.proc.pid, signal.SIGINT)
    with sock, pytest.raises(ConnectionResetError):   # in flight: reset, as immediate does
        sock.recv(1024)
    assert server.proc.wait(timeout=2) == 128 + signal.SIGINT
    log = server.log()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log
    assert "SIGINT: exiting immediately, cutting 1 in flight" in log
    assert not server.ready_file.exists()


def test_sigint_during_startup_ends_it_quietly(start):
    server = start(wait=False, STARTUP_SECONDS=5)
    deadline = time.monotonic() + 5
    while "starting" not in server.log():
        assert time.monotonic() < deadline and server.proc.poll() is None, server.log()
        time.sleep(0.02)
    os.kill(server.proc.pid, signal.SIGINT)
    assert server.proc.wait(timeout=2) == 128 + signal.SIGINT
    assert "Traceback" not in server.log()


# The exec commands the simulator models, run for real against the real server's
# READY_FILE (a local shell, as the kubelet's ExecSync runs them in the container):
# the exit status must be the model's, before the server listens, while it
# serves, and after SIGTERM.
EXEC_COMMANDS = [["cat", "{ready}"], ["test", "-f", "{ready}"], ["test", "-e", "{ready}"],
                 ["[", "-f", "{ready}", "]"], ["test", "!", "-e", "{ready}"],
                 ["sh", "-c", "test -f {ready} && cat {ready}"],
                 ["sh", "-c", "cat {ready} || exit 3"], ["true"], ["false"],
                 ["sh", "-c", "test -s {ready}; exit"]]


def test_exec_commands_agree_with_the_simulators_model(start):
    from releaselab.sim import execprobe

    server = start(wait=False, STARTUP_SECONDS=0.6, SHUTDOWN="graceful")
    ready = str(server.ready_file)

    def compare(state: str, listening: bool) -> None:
        present = server.ready_file.exists()
        for template in EXEC_COMMANDS:
            command = [word.replace("{ready}", ready) for word in template]
            real = subprocess.run(command, capture_output=True, timeout=5).returncode

            def files(path):
                kind = execprobe.path_kind(path, ready, present)
                return None if kind == execprobe.UNKNOWN else kind

            model = execprobe.run(command, 1, files, listening)
            assert model.ok == (real == 0), (state, command, real, model)

    deadline = time.monotonic() + 5
    while "starting" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.02)
    compare("before it listens", listening=False)
    server.wait_serving()
    time.sleep(0.1)
    assert server.ready_file.exists()
    compare("while it serves", listening=True)
    server.terminate()
    assert server.proc.wait(timeout=5) == 0
    compare("after SIGTERM", listening=False)
