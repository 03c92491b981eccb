"""Which pod a failed request went to, and why it failed — also when the request cannot say.

On the simulator every request names the pod it reached.  On a real cluster
a request that got an answer names it too (the demo app puts its pod name in
the body), but a *refused* connection carries nothing: kube-proxy rewrote the
Service's address to a pod's (DNAT), the pod's kernel answered RST, and the
client only learns "refused".  A *reset* one was cut before any answer.  So
on kind the endpoint it was sent to is inferred from what the watches saw:

- which pods were **routable** at the request's time ``t``: listed ready in
  the target Service's EndpointSlices (``timeline.endpoints``), or taken out
  of them less than :data:`PROXY_LAG_S` before — kube-proxy applies an
  EndpointSlice change on its next sync, which took up to ~1 s on the
  reference cluster (``minSyncPeriod`` 1 s), so for that long it still sends
  new connections to the old endpoint;
- which of those could not have answered: a pod already **terminating** at
  ``t`` (its deletion was seen; the app stops listening on SIGTERM, after
  any preStop hook), else one just added whose app may **not listen yet**
  (an endpoint without a readiness probe is ready as soon as the container
  starts).

Worked example (the endpoint race).  Pod ``web-a`` is deleted at 10.00 s; the
watch sees its endpoint turn not-ready at 10.02 s; its app exits at once on
SIGTERM at 10.10 s.  A request refused at 10.50 s: ``web-a`` is terminating
and was taken out of the slice 0.48 s ago (< 1.5 s), so it is still routable
— the request went to ``web-a``, which stopped listening too early.  A
request refused at 13.00 s, when no endpoint has been ready for over 1.5 s,
went nowhere: "no endpoints".  A request reset at 10.05 s with latency 60 ms
was accepted by a pod that died before answering: the one terminating by
10.11 s, ``web-a``.

When several pods fit, the most recently terminating (or, for "not listening
yet", most recently added) is chosen: kube-proxy picks endpoints uniformly,
so the *reason* is certain but the pod is then a best guess.  Every
inferred attribution says so (``inferred=True``).  Reads the Timeline only.

How long kube-proxy lagged is measured from the run when it can be
(:func:`estimate_lag`): a pod deleted while other endpoints stayed ready
gets refusals until kube-proxy drops it, so its last refusal, minus the
moment its endpoint turned not-ready, is a lower bound of the lag (0.58 s,
say); the largest such bound plus :data:`LAG_MARGIN_S` replaces the 1.5 s
allowance.  That matters when *no* endpoint is left: a refusal 0.9 s after
the last pod went was "no endpoints" if kube-proxy had synced 0.6 s after,
"stopped too early" had it not.  Without such evidence the allowance stays
1.5 s, and a refusal in that band is put on the pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .timeline import REFUSED, RESET, TIMEOUT, EndpointChange, Request, Timeline

#: How long after an EndpointSlice change kube-proxy may still route by the old one
#: (up to ~1 s measured, with kube-proxy's minSyncPeriod of 1 s; half a second of margin).
PROXY_LAG_S = 1.5
#: Added to a lag measured from the run: the last refusal a pod got is a lower bound of
#: the lag, short of it by up to one gap between that pod's requests (~0.03 s at 33/s).
LAG_MARGIN_S = 0.1

NO_ENDPOINTS = "no_endpoints"
STOPPED_TOO_EARLY = "stopped_too_early"
NOT_LISTENING_YET = "not_listening_yet"
CUT_IN_FLIGHT = "cut_in_flight"
TIMED_OUT = "timeout"
HTTP_ERROR = "http_error"


@dataclass(frozen=True)
class Attribution:
    """Where a failed request went (``pod``, None if nowhere or unknown) and why it failed."""

    pod: Optional[str]
    why: str
    inferred: bool = False          # True: the pod was inferred from the watches, not named


class _Routable:
    """Per Service, the intervals each pod's endpoint was ready, from ``timeline.endpoints``."""

    def __init__(self, changes: Iterable[EndpointChange]) -> None:
        self.spans: dict[str, dict[str, list[list[float]]]] = {}
        for ch in sorted(changes, key=lambda c: c.t):
            pods = self.spans.setdefault(ch.service, {})
            spans = pods.setdefault(ch.pod, [])
            is_open = bool(spans) and spans[-1][1] == float("inf")
            if ch.present and ch.ready and not is_open:
                spans.append([ch.t, float("inf")])
            elif not (ch.present and ch.ready) and is_open:
                spans[-1][1] = ch.t

    def services(self, target: str) -> list[str]:
        if not target.startswith("gateway/") and target in self.spans:
            return [target]
        # A Gateway's backends are the route's Services: every Service seen is a candidate.
        return list(self.spans) if target.startswith("gateway/") else []

    def at(self, target: str, t: float, lag: float = PROXY_LAG_S) -> dict[str, float]:
        """{pod: when its latest ready span began} for pods kube-proxy may route ``t`` to."""
        out: dict[str, float] = {}
        for service in self.services(target):
            for pod, spans in self.spans[service].items():
                for start, end in spans:
                    if start <= t <= end + lag:
                        out[pod] = max(out.get(pod, start), start)
        return out

    def ready_now(self, target: str, t: float, but: str) -> bool:
        """Was an endpoint other than ``but`` listed ready at ``t`` (by the slices themselves)?"""
        return any(start <= t < end for service in self.services(target)
                   for pod, spans in self.spans[service].items() if pod != but
                   for start, end in spans)

    def ended(self, target: str, pod: str, t: float) -> Optional[float]:
        """When the pod's ready span that ``t`` falls after (or in) ended, if it did."""
        ends = [end for service in self.services(target)
                for start, end in self.spans[service].get(pod, []) if start <= t and end <= t]
        return max(ends) if ends else None

    def known(self, target: str) -> bool:
        return bool(self.services(target))


def attribute(timeline: Timeline, requests: Iterable[Request]) -> dict[int, Attribution]:
    """{index in ``requests``: Attribution} for every failed request (see the module docstring)."""
    requests = list(requests)
    routable = _Routable(timeline.endpoints)
    first = {i: _one(q, timeline, routable, PROXY_LAG_S)
             for i, q in enumerate(requests) if not q.ok}
    lag = estimate_lag(requests, first, routable)
    if lag is None:
        return first
    return {i: _one(requests[i], timeline, routable, lag) for i in first}


def estimate_lag(requests: list, attributions: dict, routable: "_Routable") -> Optional[float]:
    """kube-proxy's lag as this run shows it, plus the margin (None: no evidence).

    Evidence is a refusal put on a terminating pod while another endpoint was
    ready — unambiguous, since the ready ones listen — after that pod's
    endpoint had turned not-ready: kube-proxy still routed to it then.
    """
    bound = None
    for i, a in attributions.items():
        q = requests[i]
        if not (a.inferred and a.why == STOPPED_TOO_EARLY and a.pod):
            continue
        ended = routable.ended(q.target, a.pod, q.t)
        if ended is None or not routable.ready_now(q.target, q.t, but=a.pod):
            continue
        bound = max(bound or 0.0, q.t - ended)
    return None if bound is None else min(PROXY_LAG_S, bound + LAG_MARGIN_S)


def _one(q: Request, timeline: Timeline, routable: _Routable, lag: float) -> Attribution:
    if q.error == TIMEOUT:
        return Attribution(q.pod, TIMED_OUT)
    if q.error not in (REFUSED, RESET):
        return Attribution(q.pod, HTTP_ERROR)
    record = timeline.pod(q.pod) if q.pod else None
    if q.pod is not None:                      # the simulator, or a cut answer that named it
        if q.error == RESET:
            return Attribution(q.pod, CUT_IN_FLIGHT)
        if record is None:
            return Attribution(None, NO_ENDPOINTS)
        terminating = record.terminating is not None and q.t >= record.terminating
        return Attribution(q.pod, STOPPED_TOO_EARLY if terminating else NOT_LISTENING_YET)
    if not routable.known(q.target):
        # No EndpointSlice record for the target (the simulator, which names the pod of
        # every request that reached one): a refused request without a pod reached none.
        return Attribution(None, NO_ENDPOINTS if q.error == REFUSED else CUT_IN_FLIGHT)
    candidates = routable.at(q.target, q.t, lag)
    if q.error == RESET:
        # Accepted, then cut: by a pod whose shutdown had begun by the time the cut came.
        cut_by = q.t + q.latency_ms / 1000.0
        dying = _terminating_by(candidates, timeline, cut_by)
        return Attribution(dying, CUT_IN_FLIGHT, inferred=True)
    if not candidates:
        return Attribution(None, NO_ENDPOINTS, inferred=True)
    dying = _terminating_by(candidates, timeline, q.t)
    if dying is not None:
        return Attribution(dying, STOPPED_TOO_EARLY, inferred=True)
    newest = max(candidates, key=lambda pod: (candidates[pod], pod))
    return Attribution(newest, NOT_LISTENING_YET, inferred=True)


def _terminating_by(candidates: dict[str, float], timeline: Timeline, t: float) -> Optional[str]:
    """The candidate whose termination began most recently at or before ``t``, if any."""
    best, best_t = None, None
    for pod in sorted(candidates):
        record = timeline.pod(pod)
        began = record.terminating if record is not None else None
        if began is not None and began <= t and (best_t is None or began > best_t):
            best, best_t = pod, began
    return best
