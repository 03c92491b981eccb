"""Real client traffic at a fixed rate, recorded request by request.

Open loop: a request is sent when its time comes, whether or not the earlier
ones have answered.  A closed-loop client (send, wait, send) slows down
exactly when the service does and so hides an outage; this one keeps the
schedule, and every request that fails during it is counted.

One new TCP connection per request, ``Connection: close``: a kept-alive
connection would stick to one pod behind kube-proxy and hide both the
load balancing and the endpoint race the labs measure.

The prober runs its own asyncio event loop in its own thread, so a notebook
(which may already run a loop) and the backend's ``wait`` stay synchronous.

Keeping the schedule, and stopping.  The loop yields to the event loop
before every send, even when it is behind schedule, so requests really go
out, answers are read, and :meth:`Prober.stop` is heard within one tick
whatever the rate.  When it falls more than :data:`MAX_LAG_S` behind (the
machine is busy), it skips the missed slots instead of firing them in a
burst that would measure the client, not the service; and it never has
more than ``max_in_flight`` requests open (each is a socket: at 1,000
requests/s against a server that does not answer, a 1 s timeout means
~1,000 sockets).  Skipped requests are counted (:attr:`Prober.skipped`)
and reported, never recorded as failures of the service.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from typing import Callable, Optional

from ..errors import UsageError
from ..timeline import NO_ENDPOINTS, REFUSED, RESET, TIMEOUT, Request

_MAX_RESPONSE = 64 * 1024   # the demo app answers ~60 bytes; a gateway error page a few hundred
#: Open sockets at most (a default `ulimit -n` is 1,024 descriptors per process).
MAX_IN_FLIGHT = 512
#: Further behind schedule than this, the missed slots are skipped, not sent in a burst.
MAX_LAG_S = 0.5


def parse_response(raw: bytes) -> tuple[int, dict, bytes]:
    """Split an HTTP/1.x response into (status, lower-cased headers, body); ValueError if broken."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of headers")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"not an HTTP status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(parts[1]), headers, body


def version_and_pod(headers: dict, body: bytes) -> tuple[Optional[str], Optional[str]]:
    """What the demo app says about itself: JSON body first, ``X-Version`` header second."""
    version = pod = None
    try:
        data = json.loads(body.decode("utf-8"))
        if isinstance(data, dict):
            version, pod = data.get("version"), data.get("pod")
    except (ValueError, UnicodeDecodeError):
        pass
    return (version if version is not None else headers.get("x-version")), pod


class Prober:
    """Send ``rps`` requests per second to ``http://host:port/path`` until stopped.

    Each request becomes a :class:`releaselab.timeline.Request` passed to
    ``sink`` (the Timeline's list ``append``); ``clock`` gives the times
    (the backend's seconds since start).  ``poisson=True`` draws the gaps
    from an exponential distribution (seeded ``rng``) instead of a fixed
    interval; the mean rate is the same.  ``route`` (tests) says where a
    request sent at time ``t`` connects — a stand-in for kube-proxy choosing
    an endpoint; by default every request connects to ``host:port``.
    """

    def __init__(self, host: str, port: int, *, target: str, rps: float,
                 sink: Callable[[Request], None], clock: Callable[[], float] = time.monotonic,
                 timeout_s: float = 1.0, path: str = "/", host_header: Optional[str] = None,
                 poisson: bool = False, rng: Optional[random.Random] = None,
                 max_in_flight: int = MAX_IN_FLIGHT,
                 route: Optional[Callable[[float], tuple[str, int]]] = None) -> None:
        if isinstance(rps, bool) or not isinstance(rps, (int, float)) or \
                not math.isfinite(rps) or rps <= 0:
            raise UsageError(f"rps must be a positive number of requests per second, not {rps!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or \
                not math.isfinite(timeout_s) or timeout_s <= 0:
            raise UsageError(f"timeout_s must be positive seconds, not {timeout_s!r}")
        self.host, self.port, self.target, self.rps = host, int(port), target, float(rps)
        self.sink, self.clock, self.timeout_s, self.path = sink, clock, float(timeout_s), path
        self.host_header = host_header or f"{host}:{port}"
        self.poisson = poisson
        self.rng = rng or random.Random(0)
        self.is_gateway = target.startswith("gateway/")
        self.max_in_flight = int(max_in_flight)
        self.route = route
        self.sent = 0
        self.skipped = 0           # slots not sent: behind schedule, or too many in flight
        self.peak_in_flight = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stopping: Optional[asyncio.Event] = None
        self._started = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- control, from any thread -----------------------------------------
    def start(self) -> "Prober":
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name=f"releaselab-prober-{self.target}")
        self._thread.start()
        self._started.wait(5.0)
        return self

    def stop(self, join_timeout: Optional[float] = None) -> None:
        """Stop sending (within one tick of the loop, whatever the rate); requests in flight
        finish within their client timeout and are recorded, then the thread ends."""
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:     # the loop closed between the check and the call
                pass
        if self._thread is not None:
            self._thread.join(join_timeout if join_timeout is not None else self.timeout_s + 2.0)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "Prober":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the loop ------------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._started.set()
        loop = asyncio.get_running_loop()
        in_flight: set[asyncio.Task] = set()
        next_at = loop.time()
        while not self._stopping.is_set():
            delay = next_at - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                    break
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(0)       # behind schedule: still let answers and stop in
                if self._stopping.is_set():
                    break
            gap = self.rng.expovariate(self.rps) if self.poisson else 1.0 / self.rps
            lag = loop.time() - next_at
            if lag > MAX_LAG_S:
                # E.g. 0.8 s behind at 100/s: 80 slots missed; skip them, start afresh now.
                missed = int(lag * self.rps)
                self.skipped += missed
                next_at = loop.time()
            next_at += gap
            if len(in_flight) >= self.max_in_flight:
                self.skipped += 1
                continue
            # Open loop: fire on schedule without awaiting the answer.
            task = loop.create_task(self._one())
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            self.sent += 1
            self.peak_in_flight = max(self.peak_in_flight, len(in_flight))
        if in_flight:
            # Each request ends by its own timeout (wait_for in _one); the margin is for
            # the event loop to run their last callbacks.
            await asyncio.wait(in_flight, timeout=self.timeout_s + 0.5)

    def _request(self) -> bytes:
        """The bytes of one request (the user prober sends others)."""
        return (f"GET {self.path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                f"User-Agent: releaselab-prober\r\nConnection: close\r\n\r\n").encode("ascii")

    async def _exchange(self, t: float, request: Optional[bytes] = None) -> bytes:
        """One connection, one request, the raw answer (until the server closes)."""
        host, port = self.route(t) if self.route is not None else (self.host, self.port)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request if request is not None else self._request())
            await writer.drain()
            raw = b""
            while len(raw) < _MAX_RESPONSE:
                more = await reader.read(_MAX_RESPONSE - len(raw))
                if not more:
                    break
                raw += more
            return raw
        finally:
            writer.close()     # no wait_closed(): a reset peer would make it raise late

    async def _one(self) -> None:
        t = round(self.clock(), 6)
        began = time.perf_counter()
        status, headers, body, error = await self._fetch(t)
        version, pod = version_and_pod(headers, body) if status is not None else (None, None)
        if status == 503 and self.is_gateway and version is None:
            error = NO_ENDPOINTS       # the gateway answered for a backend it does not have
        latency = (time.perf_counter() - began) * 1000.0
        self.sink(Request(t=t, target=self.target, pod=pod, version=version,
                          status=status, error=error, latency_ms=round(latency, 3)))

    async def _fetch(self, t: float, request: Optional[bytes] = None) -> tuple:
        """(status, headers, body, error) of one request sent at ``t``; status None with a
        transport error."""
        status = error = None
        headers, body = {}, b""
        try:
            # wait_for rather than asyncio.timeout: the package supports Python 3.10.
            raw = await asyncio.wait_for(self._exchange(t, request), self.timeout_s)
            if not raw:
                error = RESET          # accepted, then closed without a word: the server died
            else:
                try:
                    status, headers, body = parse_response(raw)
                    length = headers.get("content-length", "")
                    if length.isdigit() and len(body) < int(length):
                        raise ValueError("body shorter than its Content-Length")
                except ValueError:
                    status, headers, body = None, {}, b""
                    error = RESET      # cut off mid-response
        except asyncio.TimeoutError:
            error = TIMEOUT
        except ConnectionRefusedError:
            error = REFUSED
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                asyncio.IncompleteReadError):
            error = RESET
        except OSError:
            # No route, host unreachable, address not available: nothing answers there.
            error = REFUSED
        return status, headers, body, error
