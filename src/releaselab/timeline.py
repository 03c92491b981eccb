"""What a run recorded: the same schema from the simulator and from kind.

Times are seconds since the Lab started (virtual on the simulator, wall clock
on kind).  Each table is a list of records, and :meth:`Timeline.df` turns one
into a pandas DataFrame.  Plots, summaries, checks and the analysis read only
this; none of them knows which backend filled it.

Tables
------
``requests``   one row per client request (:class:`Request`)
``pods``       one row per pod, with the times it passed each stage (:class:`PodRecord`)
``rs_steps``   every change of a ReplicaSet's ``spec.replicas`` (:class:`RSStep`)
``events``     Kubernetes Events as the cluster keeps them (:class:`Event`)
``marks``      what the reader or a strategy did, for plots (:class:`Mark`)
``endpoints``  each change of a pod's entry in a Service's EndpointSlices
               (:class:`EndpointChange`; filled on kind, where a refused
               request names no pod and is attributed through it — the
               simulator's requests name their pod themselves)
``orders``     every order a client was told was written, and what reading it back gave
               (:class:`Order`; only with ``traffic(users=...)``)
``logouts``    every time a logged-in client found its session gone (:class:`Logout`)
``migrations`` every schema migration an app ran at start (:class:`Migration`; the
               simulator records them; on kind they are in the pod's log)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Iterable, NamedTuple, Optional

# Error kinds a request can end with (``Request.error``).  A request with a
# transport error has ``status`` None; "no_endpoints" (a gateway's 503) and
# the stateful app's kinds below keep the HTTP status they came with.
REFUSED = "refused"          # nothing listens at the address (RST)
RESET = "reset"              # the server died with the request in flight
TIMEOUT = "timeout"          # no answer before the client's timeout
NO_ENDPOINTS = "no_endpoints"  # the gateway had no backend endpoint (HTTP 503)
# Answers of the stateful demo app (traffic with users), kept with their HTTP status:
SCHEMA = "schema"                  # 500: the code and the database's schema do not fit
DB_UNAVAILABLE = "db_unavailable"  # 503: the app cannot reach its database
STORE_UNAVAILABLE = "store_unavailable"  # 503: the app cannot reach its session store
LOGGED_OUT = "logged_out"          # 401: a logged-in client's session was gone
WRONG_DATA = "wrong_data"          # 200/404: an order read back is not what the client wrote
ERROR_KINDS = (REFUSED, RESET, TIMEOUT, NO_ENDPOINTS, SCHEMA, DB_UNAVAILABLE, STORE_UNAVAILABLE,
               LOGGED_OUT, WRONG_DATA)


class Request(NamedTuple):
    """One client request.  ``ok`` is what "zero-downtime" is judged on.

    ``op`` is what a user of ``traffic(users=...)`` did: ``login``, ``me``,
    ``write`` (an order), ``read`` (one back); None for the plain ``GET /``.
    """

    t: float
    target: str
    pod: Optional[str]
    version: Optional[str]
    status: Optional[int]
    error: Optional[str]
    latency_ms: float
    op: Optional[str] = None

    @property
    def ok(self) -> bool:
        # A 200 with wrong data (error "wrong_data") is a failure too.
        return self.status is not None and 200 <= self.status < 300 and self.error is None

    @property
    def cause(self) -> str:
        """Why it failed, in one word: ``ok``, ``http_500``, ``refused``, ..."""
        if self.ok:
            return "ok"
        if self.error:
            return self.error
        return f"http_{self.status}"


@dataclass
class PodRecord:
    """A pod's life.  Each time is None until the pod reaches that stage."""

    name: str
    replicaset: str
    deployment: Optional[str]
    version: Optional[str]
    node: Optional[str] = None
    created: Optional[float] = None
    scheduled: Optional[float] = None
    started: Optional[float] = None
    ready: Optional[float] = None
    terminating: Optional[float] = None
    gone: Optional[float] = None
    restarts: int = 0
    waiting_reason: Optional[str] = None   # ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...
    unready: list = field(default_factory=list)   # times readiness was lost while running

    def state_at(self, t: float) -> Optional[str]:
        """``Pending``, ``Starting``, ``Ready``, ``Terminating`` or None (not alive at t)."""
        if self.created is None or t < self.created or (self.gone is not None and t >= self.gone):
            return None
        if self.terminating is not None and t >= self.terminating:
            return "Terminating"
        if self.ready is not None and t >= self.ready:
            lost = [u for u in self.unready if u[0] <= t and (u[1] is None or t < u[1])]
            return "Starting" if lost else "Ready"
        if self.started is not None and t >= self.started:
            return "Starting"
        return "Pending"


class RSStep(NamedTuple):
    """One change of a ReplicaSet's spec.replicas (``from_`` is ``from`` in DataFrames)."""

    t: float
    replicaset: str
    deployment: Optional[str]
    revision: Optional[int]
    from_: int
    to: int


@dataclass
class Event:
    """A Kubernetes Event; ``count`` grows when the cluster folds repeats into it."""

    t: float
    kind: str
    name: str
    reason: str
    message: str
    count: int = 1
    type: str = "Normal"
    last_t: Optional[float] = None


class Mark(NamedTuple):
    """Something the reader or a strategy did: shown as a line on plots."""

    t: float
    label: str
    category: str = "action"    # "action", "rollout-start", "rollout-end", "step", "gate", "rollback"


class EndpointChange(NamedTuple):
    """A pod's endpoint in a Service's EndpointSlices, as a watch saw it change.

    ``present`` False: the pod left the slices.  The conditions are the
    EndpointSlice API's: ``ready`` (kube-proxy sends new connections),
    ``serving``, ``terminating``.  kube-proxy applies a change some time
    later (its sync; up to ~1 s measured on a real cluster)."""

    t: float
    service: str
    pod: str
    present: bool
    ready: bool
    serving: bool
    terminating: bool


@dataclass(eq=False)
class Order:
    """An order a client was told was written (201), and what reading it back gave.

    ``read_ok``: the client's one read during the run (None: not read yet);
    ``audit``: reading it back once more when the traffic stopped — ``intact``,
    ``lost`` (missing, or not what was written, or unreadable by the version
    then running) or ``unverified`` (the read could not reach the app);
    ``why`` says what the audit saw.
    """

    t: float
    target: str
    user: str
    id: int
    customer: str
    item: str
    version: Optional[str]
    pod: Optional[str]
    read_ok: Optional[bool] = None
    audit: Optional[str] = None
    why: Optional[str] = None

    @property
    def lost(self) -> bool:
        return self.audit == "lost"


class Logout(NamedTuple):
    """A logged-in client asked who it is and got 401: its session was gone."""

    t: float
    target: str
    user: str
    pod: Optional[str]
    version: Optional[str]
    since: float            # when it had logged in


class Migration(NamedTuple):
    """A pod's app brought its database from one schema version to another as it started."""

    t: float
    pod: str
    version: Optional[str]
    database: str           # the data server (a StatefulSet) it migrated
    from_version: int
    to_version: int


_TABLES = ("requests", "pods", "rs_steps", "events", "marks", "endpoints", "orders", "logouts",
           "migrations")


class Timeline:
    """Everything recorded since the Lab started."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.pods: list[PodRecord] = []
        self.rs_steps: list[RSStep] = []
        self.events: list[Event] = []
        self.marks: list[Mark] = []
        self.endpoints: list[EndpointChange] = []
        self.orders: list[Order] = []
        self.logouts: list[Logout] = []
        self.migrations: list[Migration] = []
        self._pod_index: dict[str, PodRecord] = {}

    # -- writing (backends call these) ------------------------------------
    def add_pod(self, record: PodRecord) -> PodRecord:
        self.pods.append(record)
        self._pod_index[record.name] = record
        return record

    def pod(self, name: str) -> Optional[PodRecord]:
        return self._pod_index.get(name)

    def mark(self, t: float, label: str, category: str = "action") -> None:
        self.marks.append(Mark(round(t, 6), label, category))

    # -- reading ------------------------------------------------------------
    def requests_between(self, start: float = 0.0, end: float = float("inf"),
                         target: Optional[str] = None) -> list[Request]:
        return [r for r in self.requests
                if start <= r.t < end and (target is None or r.target == target)]

    def df(self, table: str):
        """The named table as a pandas DataFrame (``requests``, ``pods``, ``rs_steps``, ...)."""
        import pandas as pd

        if table not in _TABLES:
            from .errors import UsageError
            raise UsageError(f"no table {table!r} in a Timeline; choose one of {', '.join(_TABLES)}")
        rows = getattr(self, table)
        if table == "requests":
            frame = pd.DataFrame(rows, columns=list(Request._fields))
            frame["ok"] = [r.ok for r in rows]
            frame["cause"] = [r.cause for r in rows]
            return frame
        if table == "rs_steps":
            return pd.DataFrame(rows, columns=list(RSStep._fields)).rename(columns={"from_": "from"})
        if table == "marks":
            return pd.DataFrame(rows, columns=list(Mark._fields))
        if table == "endpoints":
            return pd.DataFrame(rows, columns=list(EndpointChange._fields))
        if table in ("logouts", "migrations"):
            kind = Logout if table == "logouts" else Migration
            return pd.DataFrame(rows, columns=list(kind._fields))
        cls = {"pods": PodRecord, "events": Event, "orders": Order}[table]
        names = [f.name for f in fields(cls)]
        return pd.DataFrame([[getattr(r, n) for n in names] for r in rows], columns=names)

    def pods_of(self, deployment: Optional[str] = None) -> Iterable[PodRecord]:
        return [p for p in self.pods if deployment is None or p.deployment == deployment]

    def summary(self, start: float = 0.0, end: Optional[float] = None,
                deployment: Optional[str] = None, target: Optional[str] = None):
        """A readable report of [start, end): requests by version and cause, rollout figures."""
        from .report import summarize

        return summarize(self, start=start, end=end, deployment=deployment, target=target)

    def plot(self, start: float = 0.0, end: Optional[float] = None,
             deployment: Optional[str] = None, title: Optional[str] = None,
             target: Optional[str] = None):
        """Pods per version and state over time, above requests per second by outcome."""
        from .plots import plot_timeline

        return plot_timeline(self, start=start, end=end, deployment=deployment, title=title,
                             target=target)
