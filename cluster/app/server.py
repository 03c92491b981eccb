"""releaselab/web: the demo service every lab deploys.

Its behaviour is set by environment variables; the table in README.md is the
contract (the simulator's model obeys it too). Standard library only for the
stateless default: a small image, and tests can run it as a plain local
process. Orders and login sessions live in state.py beside it, which imports
psycopg or redis only when DATABASE_URL or a Redis SESSION_STORE asks for them.

Shape: the main thread owns the listening socket and the signals; each accepted
connection is served by its own thread. One request per connection
(`Connection: close`): kube-proxy balances connections, not requests, so every
request is routed afresh, and "in flight" simply means "connection still open".
"""

import json
import math
import os
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections import namedtuple
from http.server import BaseHTTPRequestHandler

# The modules beside this file (state.py, migrate.py) import as top-level
# modules however this one was loaded: as the image's script, or by a test.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import migrate  # noqa: E402  (standard library only at import)
import state  # noqa: E402

SHUTDOWN_MODES = ("graceful", "immediate", "ignore")
# Every number has an upper bound the process can honour: a sleep of 1e10 s
# overflows time_t, and an hour of start-up or drain is already far beyond
# any lab.  The simulator's model (releaselab/sim/app.py) uses the same ranges.
SECONDS = "a number of seconds from 0 to 3600"
MILLISECONDS = "a number of milliseconds from 0 to 600000"
# Written once the server listens (and is ready), removed when it stops
# accepting: an exec probe `cat /dev/shm/ready` passes exactly while it serves.
# /dev/shm because the manifests mount the root filesystem read-only, and the
# container runtime mounts the pod's /dev/shm read-write (containerd's CRI:
# Readonly: false) — the one path a container can write without a volume.
READY_FILE = "/dev/shm/ready"


class ConfigError(Exception):
    """A variable that cannot be parsed: names it and says what it accepts."""

    def __init__(self, name, value, accepts):
        super().__init__(f"{name}={value!r} is invalid: {name} accepts {accepts}")


# The parsed environment, one field per row of the README table.
Config = namedtuple("Config", "version pod port startup_seconds error_rate latency_ms "
                              "never_ready shutdown drain_seconds seed ready_file state")


def _parse(env, name, default, convert, accepts, low, high):
    raw = env.get(name, default)
    try:
        value = convert(raw)
    except ValueError:
        raise ConfigError(name, raw, accepts) from None
    # nan fails every comparison; inf parses as a float but means nothing here.
    if not low <= value <= high or abs(value) == math.inf:
        raise ConfigError(name, raw, accepts)
    return value


def parse_config(env):
    """Read the README's variables from a mapping; raise ConfigError on the first bad one."""
    version = env.get("VERSION", "")
    if not version.strip():
        # Every image bakes VERSION (images.yaml); an empty one is a build mistake.
        raise ConfigError("VERSION", version, "a non-empty string (baked per image)")
    never_ready = env.get("NEVER_READY", "0")
    if never_ready not in ("0", "1"):
        raise ConfigError("NEVER_READY", never_ready, "0 or 1")
    shutdown = env.get("SHUTDOWN", "graceful")
    if shutdown not in SHUTDOWN_MODES:
        raise ConfigError("SHUTDOWN", shutdown, " | ".join(SHUTDOWN_MODES))
    try:
        state_cfg = state.parse(env, migrate.latest())
    except state.StateConfigError as error:
        raise ConfigError(error.name, error.value, error.accepts) from None
    return Config(
        version=version,
        pod=env.get("POD_NAME") or socket.gethostname(),
        port=_parse(env, "PORT", "8080", int, "a port number from 1 to 65535", 1, 65535),
        startup_seconds=_parse(env, "STARTUP_SECONDS", "1", float, SECONDS, 0, 3600),
        error_rate=_parse(env, "ERROR_RATE", "0", float, "a fraction from 0 to 1", 0, 1),
        latency_ms=_parse(env, "LATENCY_MS", "5", float, MILLISECONDS, 0, 600_000),
        never_ready=never_ready == "1",
        shutdown=shutdown,
        drain_seconds=_parse(env, "DRAIN_SECONDS", "5", float, SECONDS, 0, 3600),
        seed=_parse(env, "SEED", "0", int, "an integer", -math.inf, math.inf),
        ready_file=_ready_file(env),
        state=state_cfg,
    )


def _ready_file(env):
    path = env.get("READY_FILE", READY_FILE)
    if not path.startswith("/") or "\0" in path:
        raise ConfigError("READY_FILE", path, "an absolute path")
    return path


def log(cfg, message):
    # One line per lifecycle change, on stderr (what `kubectl logs` shows).
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp} web {cfg.version} {cfg.pod}: {message}", file=sys.stderr, flush=True)


class App:
    """The state shared by the connection threads and the main thread."""

    def __init__(self, cfg):
        self.cfg = cfg
        # The n-th `GET /` of this process is an error iff the n-th draw of
        # Random("SEED:POD_NAME") is below ERROR_RATE: repeatable for a given
        # SEED and pod, and independent between the pods of one image.
        self.rng = random.Random(f"{cfg.seed}:{cfg.pod}")
        # RLock: the SIGTERM handler runs on the main thread, which may hold it.
        self.lock = threading.RLock()
        self.idle = threading.Condition(self.lock)
        self.open_connections = set()
        self.state = state.State(cfg.state, lambda message: log(cfg, message))

    def draw_error(self):
        with self.lock:
            return self.rng.random() < self.cfg.error_rate


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Answer even an unparsable request line (400, 505) with a status line and
    # headers (X-Version among them), not as HTTP/0.9's bare body.
    default_request_version = "HTTP/1.0"
    timeout = 10  # a client that connects and never asks must not hold a drain forever

    def __init__(self, conn, addr, app):
        self.app = app
        super().__init__(conn, addr, app)

    def do_GET(self):
        cfg = self.app.cfg
        time.sleep(cfg.latency_ms / 1000)  # every answer, probes included
        path = self.path.split("?", 1)[0]
        if path == "/":
            body = {"version": cfg.version, "pod": cfg.pod}
            status = 200
            if self.app.draw_error():
                status, body["error"] = 500, "injected"
            self.answer(status, json.dumps(body), "application/json")
        elif path == "/healthz":
            self.answer(200, "ok")
        elif path == "/readyz":
            self.answer(*((503, "not ready") if cfg.never_ready else (200, "ready")))
        elif not self.stateful("GET", path):
            self.answer(404, "not found")

    def do_POST(self):
        time.sleep(self.app.cfg.latency_ms / 1000)
        path = self.path.split("?", 1)[0]
        if not self.stateful("POST", path):
            self.answer(*((405, "method not allowed") if path in ("/", "/healthz", "/readyz")
                          else (404, "not found")))

    def stateful(self, method, path):
        """Answer a state endpoint (state.py: /login, /me, /orders); False if it is none."""
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > state.MAX_BODY:
            self.answer(413 if length.isdigit() else 400, "send a JSON body of at most "
                        f"{state.MAX_BODY} bytes with its Content-Length")
            return True
        body = self.rfile.read(int(length)) if int(length) else b""
        result = self.app.state.handle(method, path, self.headers, body)
        if result is None:
            return False
        data = {**result.body, "version": self.app.cfg.version, "pod": self.app.cfg.pod}
        self.answer(result.status, json.dumps(data), "application/json", result.headers)
        return True

    def send_response(self, code, message=None):
        # Every answer names its version, the server's own errors included:
        # BaseHTTPRequestHandler.send_error answers 400, 414, 431, 501 and 505
        # through here too.
        super().send_response(code, message)
        self.send_header("X-Version", self.app.cfg.version)

    def answer(self, status, text, content_type="text/plain; charset=utf-8", headers=()):
        data = text.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def log_message(self, format, *args):
        pass  # no access log: stderr carries lifecycle lines only


def serve_connection(app, conn, addr):
    try:
        Handler(conn, addr, app)
    except OSError:
        pass  # the client went away; nothing to answer
    finally:
        conn.close()
        with app.lock:
            app.open_connections.discard(conn)
            app.idle.notify_all()


def write_ready_file(cfg):
    """Create READY_FILE (what an exec probe can read); a failure is one log line."""
    try:
        with open(cfg.ready_file, "w") as ready:
            ready.write(f"{cfg.version} listening on port {cfg.port}\n")
    except OSError as error:
        log(cfg, f"cannot write READY_FILE {cfg.ready_file}: {error.strerror} "
                 "(an exec probe reading it will fail)")


def remove_ready_file(cfg):
    try:
        os.unlink(cfg.ready_file)
    except OSError:
        pass  # not there (never written, or already removed)


def reset_and_exit(app, signame="SIGTERM", signum=signal.SIGTERM):
    """SHUTDOWN=immediate (and SIGINT): die now, and make the cut visible as a TCP reset."""
    # SO_LINGER with a zero timeout turns the kernel's close into an RST, so a
    # client mid-request sees "connection reset" rather than a tidy close.
    linger = struct.pack("ii", 1, 0)
    with app.lock:
        cut = list(app.open_connections)
        for conn in cut:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            except OSError:
                pass  # already closed by its thread
    remove_ready_file(app.cfg)
    log(app.cfg, f"{signame}: exiting immediately, cutting {len(cut)} in flight")
    os._exit(128 + signum)  # the status a shell reports for death by that signal


def main():
    # Ctrl-C before the handlers below exist: end quietly, no traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        cfg = parse_config(os.environ)
    except ConfigError as error:
        print(f"releaselab/web: {error}", file=sys.stderr)
        return 2
    app = App(cfg)
    term = threading.Event()
    listening = False

    def on_sigterm(signum, frame):
        if cfg.shutdown == "ignore":
            log(cfg, "SIGTERM: ignored (SHUTDOWN=ignore), still serving until SIGKILL")
        elif cfg.shutdown == "immediate":
            reset_and_exit(app)
        elif not listening:
            log(cfg, "SIGTERM before listening: nothing in flight, exiting")
            os._exit(0)
        else:
            term.set()  # the main loop closes the listener and drains

    # The wakeup fd turns a signal into a readable byte, so the main thread's
    # select() wakes at once instead of resuming its wait.
    wake_r, wake_w = socket.socketpair()
    for end in (wake_r, wake_w):
        end.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C on a local run: like SHUTDOWN=immediate, whatever SHUTDOWN says.
    signal.signal(signal.SIGINT, lambda signum, frame: reset_and_exit(app, "SIGINT", signum))
    remove_ready_file(cfg)  # a previous run of this container may have left one

    log(cfg, f"starting: listening in {cfg.startup_seconds:g}s on port {cfg.port}, "
             f"SHUTDOWN={cfg.shutdown}")
    try:
        app.state.migrate_at_start()  # MIGRATE=N, before anything listens
    except state.StartError as error:
        log(cfg, f"cannot start: {error}")
        return 1
    time.sleep(cfg.startup_seconds)  # until then nothing listens: connections are refused

    try:
        listener = socket.create_server(("", cfg.port), backlog=128)
    except OSError as error:  # e.g. the port is taken: one line, like a bad variable
        log(cfg, f"cannot listen on port {cfg.port}: {error.strerror}")
        return 1
    listening = True
    if not cfg.never_ready:
        write_ready_file(cfg)
    log(cfg, f"listening on port {cfg.port}" + (" (NEVER_READY=1)" if cfg.never_ready else ""))
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    while not term.is_set():
        for key, _ in selector.select():
            if key.fileobj is wake_r:
                wake_r.recv(64)
                continue
            try:
                conn, addr = listener.accept()
            except OSError:
                continue  # the client gave up between connect and accept
            with app.lock:
                app.open_connections.add(conn)
            threading.Thread(target=serve_connection, args=(app, conn, addr), daemon=True).start()

    # Graceful: stop accepting first (new connections are refused from here on),
    # then wait for the open ones, at most DRAIN_SECONDS.
    selector.close()
    listener.close()
    remove_ready_file(cfg)
    with app.lock:
        log(cfg, f"SIGTERM: listener closed, draining {len(app.open_connections)} in flight "
                 f"(at most {cfg.drain_seconds:g}s)")
        deadline = time.monotonic() + cfg.drain_seconds
        while app.open_connections and (left := deadline - time.monotonic()) > 0:
            app.idle.wait(left)
        cut = len(app.open_connections)
    log(cfg, f"drain limit reached, cutting {cut} in flight, exiting" if cut
        else "drained, exiting")
    # os._exit: handler threads still running past the limit are cut without
    # racing the interpreter's teardown.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
