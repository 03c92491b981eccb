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

from .appstate import AppState, StartFailed, StateConfig, StateError

GRACEFUL, IMMEDIATE, IGNORE = "graceful", "immediate", "ignore"

DEFAULTS = {"VERSION": "unknown", "STARTUP_SECONDS": "1", "ERROR_RATE": "0", "LATENCY_MS": "5",
            "NEVER_READY": "0", "SHUTDOWN": GRACEFUL, "DRAIN_SECONDS": "5", "SEED": "0",
            "PORT": "8080"}


#: What the server answers (cluster/app/README.md); any other path is a 404.
PATHS = ("/", "/healthz", "/readyz")
PORT = 8080
PORT_NAME = "http"


class BadAppConfig(ValueError):
    """The process would exit at start with this one-line message."""


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
    state: StateConfig = StateConfig()     # DATABASE_URL, SCHEMA, MIGRATE, SESSION_STORE, ...

    @classmethod
    def from_env(cls, env: dict) -> "AppConfig":
        merged = {**DEFAULTS, **env}

        def number(name: str, low: float, high: Optional[float] = None) -> float:
            try:
                value = float(merged[name])
            except ValueError:
                raise BadAppConfig(f"{name}={merged[name]!r}: expected a number") from None
            if not math.isfinite(value):
                raise BadAppConfig(f"{name}={merged[name]!r}: expected a finite number")
            if value < low or (high is not None and value > high):
                bound = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
                raise BadAppConfig(f"{name}={merged[name]!r}: expected a number {bound}")
            return value

        shutdown = merged["SHUTDOWN"]
        if shutdown not in (GRACEFUL, IMMEDIATE, IGNORE):
            raise BadAppConfig(f"SHUTDOWN={shutdown!r}: expected graceful, immediate or ignore")
        if merged["NEVER_READY"] not in ("0", "1"):
            raise BadAppConfig(f"NEVER_READY={merged['NEVER_READY']!r}: expected 0 or 1")
        try:
            seed = int(merged["SEED"])
        except ValueError:
            raise BadAppConfig(f"SEED={merged['SEED']!r}: expected an integer") from None
        try:
            state = StateConfig.from_env(merged)
        except StateError as exc:
            raise BadAppConfig(str(exc)) from None
        return cls(version=merged["VERSION"], startup_s=number("STARTUP_SECONDS", 0),
                   error_rate=number("ERROR_RATE", 0, 1), latency_ms=number("LATENCY_MS", 0),
                   never_ready=merged["NEVER_READY"] == "1", shutdown=shutdown,
                   drain_s=number("DRAIN_SECONDS", 0), seed=seed, state=state)


class AppProcess:
    """One run of the server process inside a container."""

    def __init__(self, config: AppConfig, started_at: float, rng_seed: str, data=None,
                 pod: str = ""):
        self.config = config
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

    def probe(self, t: float, path: Optional[str], kind: str, timeout_s: float,
              port_ok: bool = True) -> tuple[bool, str]:
        """(success, message) of a probe sent at t, as the kubelet would report it."""
        if kind == "exec":
            return self.alive(t), "exec"
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
