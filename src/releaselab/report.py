"""What a window of a Timeline adds up to: the numbers ``summary()`` shows.

Pure reading of the Timeline (no backend, no clock), so the checks, the
plots and the book all compute the same figures the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from ._plural import plural
from .timeline import ERROR_KINDS, PodRecord, Timeline

CAUSES = ("ok", "http_500", *ERROR_KINDS)
#: What to do when the app could not reach what it depends on (one line in summary()).
UNREACHABLE = {
    "db_unavailable": "the app could not reach its PostgreSQL: is cluster/manifests/data/"
                      "postgres.yaml applied and ready, and DATABASE_URL right? "
                      "(checks.two_versions.start_data(lab) starts it)",
    "store_unavailable": "the app could not reach its Redis session store: is cluster/manifests/"
                         "data/redis.yaml applied and ready, and SESSION_STORE right?",
}


def _ready_intervals(p: PodRecord) -> list[tuple[float, float]]:
    """When the pod served as a ready, non-terminating endpoint."""
    if p.ready is None:
        return []
    end = min(x for x in (p.terminating, p.gone, float("inf")) if x is not None)
    spans, start = [], p.ready
    for lost, back in p.unready:
        if lost >= end:
            break
        if lost > start:
            spans.append((start, lost))
        start = back if back is not None else end
    if start < end:
        spans.append((start, end))
    return spans


def _sweep(intervals: list[tuple[float, float]], start: float, end: float) -> list[tuple[float, int]]:
    """(t, count) at every change inside [start, end], counts of overlapping intervals."""
    deltas: list[tuple[float, int]] = []
    for a, b in intervals:
        deltas.append((a, 1))
        deltas.append((b, -1))
    deltas.sort()
    series, count, i = [], 0, 0
    while i < len(deltas) and deltas[i][0] <= start:
        count += deltas[i][1]
        i += 1
    series.append((start, count))
    while i < len(deltas) and deltas[i][0] <= end:
        t = deltas[i][0]
        while i < len(deltas) and deltas[i][0] == t:
            count += deltas[i][1]
            i += 1
        series.append((t, count))
    return series


def ready_series(timeline: Timeline, start: float, end: float,
                 deployment: Optional[str] = None) -> list[tuple[float, int]]:
    spans = [s for p in timeline.pods_of(deployment) for s in _ready_intervals(p)]
    return _sweep(spans, start, end)


def pod_series(timeline: Timeline, start: float, end: float,
               deployment: Optional[str] = None) -> list[tuple[float, int]]:
    spans = [(p.created, p.gone if p.gone is not None else float("inf"))
             for p in timeline.pods_of(deployment) if p.created is not None]
    return _sweep(spans, start, end)


@dataclass
class Summary:
    start: float
    end: float
    sent: int
    ok: int
    failed: int
    by_version: dict                     # version -> Counter of causes
    by_cause: dict                       # cause -> count (failures only)
    rollout_seconds: Optional[float]     # first to last ReplicaSet step in the window
    steps: int
    waves: int
    peak_pods: int
    min_ready: int
    max_ready: int
    deployments: list = field(default_factory=list)
    # Traffic with users (lab 05): orders answered 201 and what their audit found,
    # and sessions lost.  None without user traffic in the window.
    orders: Optional[int] = None
    lost: int = 0
    unverified: int = 0
    logouts: Optional[int] = None
    logged_out: int = 0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.sent if self.sent else 0.0

    def rows(self) -> list[list]:
        causes = [c for c in CAUSES if any(v.get(c) for v in self.by_version.values())]
        header = ["version", *causes, "total"]
        body = []
        for version in sorted(self.by_version, key=lambda v: (v is None, str(v))):
            counts = self.by_version[version]
            body.append([version if version is not None else "(no pod)",
                         *[counts.get(c, 0) for c in causes], sum(counts.values())])
        return [header, *body]

    def _facts(self) -> list[tuple[str, str]]:
        rate = f"{100 * self.failure_rate:.1f} %"
        facts = [("window", f"{self.start:.1f} s – {self.end:.1f} s"),
                 ("requests", f"{self.sent} sent, {self.ok} ok, {self.failed} failed ({rate})")]
        if self.by_cause:
            facts.append(("failures by cause", ", ".join(f"{c} {n}" for c, n in
                                                        sorted(self.by_cause.items()))))
        for cause, hint in UNREACHABLE.items():
            if self.by_cause.get(cause):
                facts.append(("unreachable", hint))
        if self.rollout_seconds is not None:
            facts.append(("rollout", f"{self.rollout_seconds:.1f} s, "
                          f"{plural(self.steps, 'ReplicaSet step')}, "
                          f"{plural(self.waves, 'wave')} of new pods"))
        ready = (f"{self.min_ready} ready throughout" if self.min_ready == self.max_ready
                 else f"ready pods between {self.min_ready} and {self.max_ready}")
        facts.append(("pods", f"peak {self.peak_pods} pods; {ready}"))
        if self.orders is not None:
            unverified = f", {self.unverified} unverified" if self.unverified else ""
            facts.append(("orders", f"{self.orders} written, {self.lost} lost (data lost: "
                          f"missing or wrong when read back at the end){unverified}"))
        if self.logouts is not None:
            facts.append(("sessions", f"{plural(self.logged_out, 'user')} logged out "
                          f"({self.logouts} times)"))
        return facts

    def __repr__(self) -> str:
        lines = [f"{k:>18}: {v}" for k, v in self._facts()]
        table = self.rows()
        widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
        lines.append("")
        for row in table:
            lines.append("  ".join(str(x).rjust(w) for x, w in zip(row, widths)).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        facts = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                        for k, v in self._facts())
        table = self.rows()
        head = "".join(f"<th>{h}</th>" for h in table[0])
        body = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in row) + "</tr>" for row in table[1:])
        return (f"<table>{facts}</table><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")


def summarize(timeline: Timeline, start: float = 0.0, end: Optional[float] = None,
              deployment: Optional[str] = None, target: Optional[str] = None) -> Summary:
    """Figures of the half-open window [start, end), requests optionally of one target."""
    if end is None:
        candidates = [r.t for r in timeline.requests] + [s.t for s in timeline.rs_steps]
        end = max(candidates, default=start) + 1e-9
    requests = timeline.requests_between(start, end, target)
    by_version: dict = {}
    by_cause: Counter = Counter()
    ok = 0
    for q in requests:
        cause = q.cause
        version = q.version
        if version is None and q.pod is not None:
            record = timeline.pod(q.pod)
            version = record.version if record else None
        by_version.setdefault(version, Counter())[cause] += 1
        if cause == "ok":
            ok += 1
        else:
            by_cause[cause] += 1
    steps = [s for s in timeline.rs_steps if start <= s.t <= end
             and (deployment is None or s.deployment == deployment)]
    # The first step is the new ReplicaSet's creation at its first size, so a
    # rollout that starts the window counts from there.
    rollout = round(steps[-1].t - steps[0].t, 2) if len(steps) > 1 else None
    ups = [s for s in steps if s.to > s.from_]
    newest = ups[-1].replicaset if ups else None
    waves = sum(1 for s in ups if s.replicaset == newest)
    ready = ready_series(timeline, start, end, deployment)
    pods = pod_series(timeline, start, end, deployment)
    state = _state_figures(timeline, requests, start, end, target)
    return Summary(start=round(start, 3), end=round(end, 3), sent=len(requests), ok=ok,
                   failed=len(requests) - ok, by_version=by_version, by_cause=dict(by_cause),
                   rollout_seconds=rollout, steps=len(steps), waves=waves,
                   peak_pods=max((n for _, n in pods), default=0),
                   min_ready=min((n for _, n in ready), default=0),
                   max_ready=max((n for _, n in ready), default=0),
                   deployments=sorted({s.deployment for s in steps if s.deployment}), **state)


def _state_figures(timeline: Timeline, requests, start: float, end: float,
                   target: Optional[str]) -> dict:
    """Orders and logouts of the window, for traffic with users only."""
    figures: dict = {}
    ops = {q.op for q in requests if q.op is not None}

    def mine(row) -> bool:
        return start <= row.t < end and (target is None or row.target == target)

    if ops & {"write", "read"}:
        orders = [o for o in timeline.orders if mine(o)]
        figures.update(orders=len(orders), lost=sum(1 for o in orders if o.lost),
                       unverified=sum(1 for o in orders if o.audit == "unverified"))
    if ops & {"login", "me"}:
        logouts = [x for x in timeline.logouts if mine(x)]
        figures.update(logouts=len(logouts), logged_out=len({x.user for x in logouts}))
    return figures
