"""The demo app's behaviour model: the table in cluster/app/README.md, in virtual time.

The real server (``cluster/app/server.py``) and this model obey the same
table; tests check both against it.  One :class:`AppProcess` is one run of
the container's process: a restart makes a new one.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Optional

from . import execprobe
from .appstate import AppState, StartFailed, StateConfig, StateError

GRACEFUL, IMMEDIATE, IGNORE = "graceful", "immediate", "ignore"

#: What the server answers (cluster/app/README.md); any other path is a 404.
PATHS = ("/", "/healthz", "/readyz")
PORT = 8080
#: The file the server creates once it listens (unless NEVER_READY=1) and
#: removes when it stops accepting (cluster/app/server.py READY_FILE).
READY_FILE = "/dev/shm/ready"

#: The README table's defaults (VERSION has none: every image bakes its own).
DEFAULTS = {"STARTUP_SECONDS": "1", "ERROR_RATE": "0", "LATENCY_MS": "5", "NEVER_READY": "0",
            "SHUTDOWN": GRACEFUL, "DRAIN_SECONDS": "5", "SEED": "0", "PORT": str(PORT),
            "READY_FILE": READY_FILE}

# The ranges and words of cluster/app/server.py's parse_config, row by row
# (tests/unit/test_app_server.py checks both accept and refuse the same values).
_SECONDS = "a number of seconds from 0 to 3600"
_MILLISECONDS = "a number of milliseconds from 0 to 600000"


class BadAppConfig(ValueError):
    """The process would exit at start (code 2) with this one-line message."""

    def __init__(self, name: str, value: Optional[str] = None, accepts: Optional[str] = None):
        # (name, value, accepts) for a README variable, as the server words it;
        # a finished sentence (a state setting, a migration that cannot run) alone.
        super().__init__(name if accepts is None else
                         f"{name}={value!r} is invalid: {name} accepts {accepts}")


@dataclass(frozen=True)
class AppConfig:
    version: str
    startup_s: float
    error_rate: float
    latency_ms: float
    never_ready: bool
    shutdown: str
    drain_s: float
    seed: int
    port: int = PORT
    ready_file: str = READY_FILE
    state: StateConfig = StateConfig()    # DATABASE_URL, SCHEMA, MIGRATE, SESSION_STORE, ...

    @classmethod
    def from_env(cls, env: dict) -> "AppConfig":
        """The README's variables, refused exactly where the real server refuses them."""
        env = {"VERSION": "", **DEFAULTS, **env}
        for name, valid, accepts in _WORDS:
            if not valid(env[name]):
                raise BadAppConfig(name, env[name], accepts)
        version, never_ready, shutdown = env["VERSION"], env["NEVER_READY"], env["SHUTDOWN"]
        numbers = {field: _number(env[name], name, convert, accepts, low, high)
                   for field, name, convert, accepts, low, high in _NUMBERS}
        ready_file = env["READY_FILE"]
        if not ready_file.startswith("/") or "\0" in ready_file:
            raise BadAppConfig("READY_FILE", ready_file, "an absolute path")
        try:
            state = StateConfig.from_env(env)
        except StateError as exc:
            raise BadAppConfig(str(exc)) from None
        return cls(version=version, never_ready=never_ready == "1", shutdown=shutdown,
                   ready_file=ready_file, state=state, **numbers)


#: The rows checked first, in the server's order: (variable, test, what it accepts).
_WORDS = (
    ("VERSION", lambda value: bool(value.strip()), "a non-empty string (baked per image)"),
    ("NEVER_READY", ("0", "1").__contains__, "0 or 1"),
    ("SHUTDOWN", (GRACEFUL, IMMEDIATE, IGNORE).__contains__, "graceful | immediate | ignore"),
)

#: The numeric rows, in the server's order: (field, variable, type, what it
#: accepts, lowest, highest).  Example: STARTUP_SECONDS=1e10 is a float above
#: 3600, so the model crash-loops the pod as the server exits 2 at start.
_NUMBERS = (
    ("port", "PORT", int, "a port number from 1 to 65535", 1, 65535),
    ("startup_s", "STARTUP_SECONDS", float, _SECONDS, 0, 3600),
    ("error_rate", "ERROR_RATE", float, "a fraction from 0 to 1", 0, 1),
    ("latency_ms", "LATENCY_MS", float, _MILLISECONDS, 0, 600_000),
    ("drain_s", "DRAIN_SECONDS", float, _SECONDS, 0, 3600),
    ("seed", "SEED", int, "an integer", -math.inf, math.inf),
)


def _number(raw: str, name: str, convert, accepts: str, low: float, high: float):
    try:
        value = convert(raw)
    except ValueError:
        value = math.nan            # refused just below, like nan itself
    # nan fails every comparison; inf parses as a float but means nothing here.
    if math.isinf(value) or not low <= value <= high:
        raise BadAppConfig(name, raw, accepts)
    return value


class AppProcess:
    """One run of the server process inside a container."""

    def __init__(self, config: AppConfig, started_at: float, rng_seed: str, data=None,
                 pod: str = "", ready_file_writable: bool = True):
        self.config = config
        # The server writes READY_FILE once it listens; where the container
        # cannot write (a read-only root filesystem outside /dev/shm and the
        # volumes) it logs one line and the file never appears.
        self.ready_file_writable = ready_file_writable
        self.started_at = started_at
        self.listen_at = started_at + config.startup_s
        self.closed_at: Optional[float] = None     # listening socket closed (SIGTERM)
        self.exited_at: Optional[float] = None
        self.sigterm_at: Optional[float] = None
        # Each pod draws its errors from its own stream, seeded as the real
        # server seeds it (rng_seed below): the same pod name and SEED give the
        # same sequence of 500s in the simulator and on kind.
        self._rng = random.Random(rng_seed)
        self.inflight: deque = deque()              # (completes_at, request index)
        # Orders and sessions (appstate.py); MIGRATE runs now, before the app
        # listens — a failure ends the process at once, as on the real server.
        self.state = AppState(config.state, data, pod)
        try:
            self.state.start()
        except StartFailed as exc:
            raise BadAppConfig(str(exc)) from None

    @staticmethod
    def rng_seed(config: AppConfig, pod_name: str) -> str:
        """The error draw's seed, as cluster/app/server.py computes it: "SEED:POD_NAME"."""
        return f"{config.seed}:{pod_name}"

    def listening(self, t: float) -> bool:
        return (t >= self.listen_at and (self.closed_at is None or t < self.closed_at)
                and (self.exited_at is None or t < self.exited_at))

    def alive(self, t: float) -> bool:
        return self.exited_at is None or t < self.exited_at

    def ready_file_present(self, t: float) -> bool:
        """READY_FILE exists: written at listen (unless NEVER_READY=1), removed at close."""
        return self.ready_file_writable and not self.config.never_ready and self.listening(t)

    def exec_probe(self, t: float, command: tuple, timeout_s: float) -> execprobe.ExecResult:
        """An exec probe's command run in this process's container at t."""
        ready = self.ready_file_present(t)

        def files(path: str) -> Optional[str]:
            kind = execprobe.path_kind(path, self.config.ready_file, ready)
            return None if kind == execprobe.UNKNOWN else kind

        return execprobe.run(command, timeout_s, files, self.listening(t))

    def probe(self, t: float, path: Optional[str], kind: str, timeout_s: float,
              port_ok: bool = True) -> tuple[bool, str]:
        """(success, message) of an httpGet / tcpSocket / grpc probe sent at t.

        ``port_ok`` is False when the probe's port is not the one the app
        listens on: the connection is refused, as for a closed port."""
        if not self.listening(t) or not port_ok:
            return False, "connect: connection refused"
        if kind == "tcpSocket":
            return True, ""
        if self.config.latency_ms > timeout_s * 1000:
            return False, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        if path not in PATHS:
            return False, "HTTP probe failed with statuscode: 404"
        if path == "/readyz" and self.config.never_ready:
            return False, "HTTP probe failed with statuscode: 503"
        return True, ""

    def answer(self, t: float) -> int:
        """HTTP status of a GET / accepted at t."""
        if self.config.error_rate and self._rng.random() < self.config.error_rate:
            return 500
        return 200

    def sigterm(self, t: float) -> Optional[float]:
        """Deliver SIGTERM at t; returns when the process will exit (None: it won't by itself)."""
        self.sigterm_at = t
        mode = self.config.shutdown
        if mode == IGNORE:
            return None
        if t < self.listen_at:        # not serving yet: nothing to drain
            self.closed_at = t
            return t
        self.closed_at = t
        if mode == IMMEDIATE:
            return t
        self._drop_finished(t)
        last = max((done for done, _ in self.inflight), default=t)
        return min(last, t + self.config.drain_s)

    def _drop_finished(self, t: float) -> None:
        while self.inflight and self.inflight[0][0] <= t:
            self.inflight.popleft()

    def track(self, completes_at: float, index: int, now: float) -> None:
        self._drop_finished(now)
        self.inflight.append((completes_at, index))

    def exit(self, t: float) -> list[int]:
        """The process ends at t; returns the request indexes it cut off."""
        self.exited_at = t
        cut = [index for done, index in self.inflight if done > t]
        self.inflight.clear()
        return cut
