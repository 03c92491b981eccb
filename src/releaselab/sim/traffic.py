"""Open-loop clients: requests leave on schedule, whatever happened to earlier ones.

A closed-loop client (send, wait, send) slows down during an outage and so
hides it; an open-loop one keeps sending at its rate, so every second of
outage costs rps requests — the number a lab measures.

Requests are generated in the gaps between cluster events (the kernel's gap
fillers): nothing changes inside a gap, so each request is routed by the
views as they are, without an event of its own.  That is what keeps 5,000
requests/s over a 1,000-pod rollout fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..timeline import NO_ENDPOINTS, REFUSED, RESET, TIMEOUT, Request

if TYPE_CHECKING:
    from .cluster import Cluster


class TrafficSource:
    def __init__(self, cluster: "Cluster", target: str, rps: float, poisson: bool,
                 timeout_s: float, start: float):
        self.c = cluster
        self.target = target
        self.rps = rps
        self.poisson = poisson
        self.timeout_ms = timeout_s * 1000
        self.next_t = start
        self.stopped = False
        if target.startswith("gateway/"):
            self.gateway: Optional[str] = target.split("/", 1)[1]
            self.service: Optional[str] = None
        else:
            self.gateway, self.service = None, target
        self._n = 0
        self._start = start

    def fill(self, start: float, end: float) -> None:
        if self.stopped:
            return
        rng = self.c.rng
        while self.next_t < end:
            t = self.next_t
            if t >= start:
                self._send(round(t, 6))
            if self.poisson:
                self.next_t = t + rng.expovariate(self.rps)
            else:
                # From the start time, not by accumulation: no drift over long runs.
                self._n += 1
                self.next_t = self._start + self._n / self.rps

    def _send(self, t: float) -> None:
        c = self.c
        net = c.network
        if self.gateway is not None:
            backend = self._pick_weighted(net.route_view.get(self.gateway, ()))
            if backend is not None and not backend[2]:
                # An invalid backendRef (no such Service): the Gateway API's 500
                # for the share of requests that would have gone to it.
                c.timeline.requests.append(Request(t, self.target, None, None, 500, None,
                                                   c.profile.network_rtt_ms))
                return
            view = net.gateway_view.get(backend[0]) if backend is not None else None
            if view is None or not view.pods:
                # Envoy answers itself when a route has no healthy upstream
                # (or every weight is 0).
                c.timeline.requests.append(Request(t, self.target, None, None, 503, NO_ENDPOINTS,
                                                   c.profile.network_rtt_ms))
                return
        else:
            view = net.proxy_view.get(self.service)
            if view is None or not view.pods:
                # kube-proxy REJECTs traffic to a Service without endpoints.
                c.timeline.requests.append(Request(t, self.target, None, None, None, REFUSED,
                                                   c.profile.refused_ms))
                return
        pod = self._pick(view.pods)
        self._deliver(t, pod, view.service.target_port(pod.rs))

    def _pick(self, pods: tuple):
        """kube-proxy's choice among the endpoints it knows: uniformly at random."""
        return pods[self.c.rng.randrange(len(pods))] if len(pods) > 1 else pods[0]

    def _pick_weighted(self, backends: tuple) -> Optional[tuple]:
        total = sum(w for _, w, _ in backends)
        if total <= 0:
            return None
        x = self.c.rng.random() * total
        for backend in backends:
            x -= backend[1]
            if x < 0:
                return backend
        return backends[-1]

    def _deliver(self, t: float, pod, port: Optional[int]) -> None:
        c = self.c
        requests = c.timeline.requests
        if pod.gone:
            # The address no longer exists: the SYN is never answered.
            requests.append(Request(t, self.target, pod.name, None, None, TIMEOUT, self.timeout_ms))
            return
        app = pod.app
        if app is None or not app.listening(t) or port != app.config.port:
            # Nothing listens there (yet, any more, or on that port): the pod's
            # kernel answers the SYN with a RST.
            requests.append(Request(t, self.target, pod.name, None, None, REFUSED,
                                    c.profile.refused_ms))
            return
        latency = app.config.latency_ms + c.profile.network_rtt_ms
        if latency > self.timeout_ms:
            requests.append(Request(t, self.target, pod.name, None, None, TIMEOUT, self.timeout_ms))
            return
        index = len(requests)
        requests.append(self._answer(t, pod, app, latency))
        app.track(t + latency / 1000, index, t)

    def _answer(self, t: float, pod, app, latency: float) -> Request:
        """The app's answer to a request it accepted: here ``GET /`` (users.py sends others)."""
        return Request(t, self.target, pod.name, pod.record.version, app.answer(t), None, latency)


def cut(cluster: "Cluster", indexes: list[int], t: float) -> None:
    """Requests whose server died mid-answer: the client sees a reset."""
    requests = cluster.timeline.requests
    for i in indexes:
        r = requests[i]
        requests[i] = r._replace(status=None, error=RESET, version=None,
                                 latency_ms=round(max(t - r.t, 0) * 1000, 3))
        for hook in cluster.cut_hooks:
            hook(i)
