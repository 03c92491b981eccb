"""Reading a run for a checker's message: the figures its wording quotes.

Every number a checker prints comes from here (or from the reader's own
settings), read off a Timeline, so a message can never quote a figure the
run did not have.  Pure reading: no Lab is built, nothing is simulated.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean
from typing import Iterable, Optional

from ..timeline import Timeline


def spec_peak(timeline: Timeline, deployment: str, start: float = 0.0,
              end: float = float("inf")) -> int:
    """The most pods the Deployment's ReplicaSets asked for at once (Σ spec.replicas).

    That is what maxSurge bounds: with 4 replicas and maxSurge 5 the new
    ReplicaSet never grows past 4, so the sum peaks at 8, not 4 + 5 = 9
    (``NewRSNewReplicas`` caps the scale-up at ``replicas - new``).
    """
    sizes: dict[str, int] = {}
    peak = 0
    for step in sorted(timeline.rs_steps, key=lambda s: s.t):
        if step.deployment != deployment or step.t > end:
            continue
        sizes[step.replicaset] = step.to
        if step.t >= start:
            peak = max(peak, sum(sizes.values()))
    return peak


def growth_times(timeline: Timeline, deployment: str, start: float = 0.0) -> list[float]:
    """When the newest ReplicaSet grew (one time per wave), from ``start`` on."""
    ups = [s for s in timeline.rs_steps if s.deployment == deployment and s.t >= start
           and s.to > s.from_]
    if not ups:
        return []
    newest = ups[-1].replicaset
    return [round(s.t, 2) for s in ups if s.replicaset == newest]


def pods_of_version(timeline: Timeline, deployment: str, version: Optional[str]) -> list:
    return [p for p in timeline.pods_of(deployment) if p.version == version]


def seconds_to_ready(pods: Iterable) -> Optional[float]:
    """Mean seconds from a pod's creation to its Ready condition (None if none became Ready)."""
    spans = [p.ready - p.created for p in pods if p.ready is not None and p.created is not None]
    return mean(spans) if spans else None


def seconds_running_before_ready(pods: Iterable) -> Optional[float]:
    """Mean seconds from a pod's container start to its Ready condition."""
    spans = [p.ready - p.started for p in pods if p.ready is not None and p.started is not None]
    return mean(spans) if spans else None


def restarts(pods: Iterable) -> int:
    return sum(p.restarts for p in pods)


def waiting_reasons(pods: Iterable) -> Counter:
    return Counter(p.waiting_reason for p in pods if p.waiting_reason)


def causes(requests: Iterable) -> Counter:
    """Failed requests by cause (``refused``, ``http_500``, ...)."""
    return Counter(q.cause for q in requests if not q.ok)


def causes_text(counts: Counter) -> str:
    return ", ".join(f"{cause} {n}" for cause, n in sorted(counts.items())) or "none"


from .._plural import agree, plural  # noqa: E402,F401 — the one helper, shared with the kit
