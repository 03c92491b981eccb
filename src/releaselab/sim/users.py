"""User traffic on the simulator: the workload model of ``releaselab.workload``, answered by the app model.

The stream of requests is the plain traffic's (open loop, the same routing
through kube-proxy's or the gateway's delayed view, the same refusals,
timeouts and resets); what changes is what each request is.  The next
user in turn decides (login, me, write, read), the pod's app model
(``appstate.py``) answers it, and the user learns from the answer.

Session affinity.  A Service with ``sessionAffinity: ClientIP`` makes
kube-proxy send a client to the endpoint it chose for it before, for
``sessionAffinityConfig.clientIP.timeoutSeconds`` (default 10800 s) after
its last connection — but only while that endpoint is still in kube-proxy's
rules: in iptables mode the Service's chain holds, for each endpoint it
knows, a ``-m recent --rcheck --seconds 10800 --reap`` match on the list
that endpoint's own chain fills (``pkg/proxy/iptables/proxier.go``,
``writeServiceToEndpointRules``), so an endpoint removed from the rules
takes its clients' affinity with it, and they land on another pod.  Here
every user is its own client address.  On kind, the prober's users all come
from the one address of the host, so affinity sends them all to one pod.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Optional

from ..timeline import Request
from ..workload import Call, Response, Users
from .traffic import TrafficSource

if TYPE_CHECKING:
    from .cluster import Cluster

AFFINITY_TIMEOUT_S = 10800      # ClientIPConfig.timeoutSeconds' default


class UserTraffic(TrafficSource):
    """Open-loop traffic whose requests are ``users`` users doing ``workload``."""

    def __init__(self, cluster: "Cluster", target: str, rps: float, poisson: bool,
                 timeout_s: float, start: float, users: int, workload: str):
        super().__init__(cluster, target, rps, poisson, timeout_s, start)
        self.users = Users(users, workload, target, cluster.timeline)
        self._call: Optional[Call] = None
        self._t = start
        self._reply: Optional[tuple] = None
        self._affinity: dict[str, tuple] = {}      # user → (pod, time of its last connection)
        cluster.cut_hooks.append(self.users.cancel)

    def _send(self, t: float) -> None:
        requests = self.c.timeline.requests
        self._call, self._t, self._reply = self.users.next(t), t, None
        index = len(requests)
        super()._send(t)
        sent = requests[index]
        status, body, cookie = self._reply or (sent.status, None, None)
        answer = Response(status, sent.error, body, cookie, sent.pod, sent.version,
                          sent.latency_ms)
        requests[index] = self.users.record(self._call, t, answer, index)

    def _pick(self, pods: tuple):
        service = self.c.services.get(self.service) if self.service else None
        if service is None or service.spec.get("sessionAffinity") != "ClientIP":
            return super()._pick(pods)
        config = (service.spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        timeout = config.get("timeoutSeconds", AFFINITY_TIMEOUT_S)
        user = self._call.user
        pod, last = self._affinity.get(user, (None, None))
        if pod is None or pod not in pods or self._t - last > timeout:
            pod = super()._pick(pods)
        self._affinity[user] = (pod, self._t)
        return pod

    def _answer(self, t: float, pod, app, latency: float) -> Request:
        self._reply = reply = self._ask(app, self._call)
        return Request(t, self.target, pod.name, pod.record.version, reply[0], None, latency)

    @staticmethod
    def _ask(app, call: Call) -> tuple:
        """(status, body, cookie) of the app model for one call."""
        state = app.state
        if call.op == "login":
            return state.login(call.body["user"])
        if call.op == "me":
            return state.me(call.cookie)
        if not state.config.database_url:
            return 404, None, None          # the stateless app has no /orders
        if call.op == "write":
            return state.write(call.body["customer"], call.body["item"])
        return state.read(call.order.id)

    # -- the audit, when the traffic stops ----------------------------------------------------
    def audit(self) -> None:
        """Read every order of this traffic back once, through the Service as it routes now."""
        orders = self.users.to_audit()
        if not orders:
            return
        net, c = self.c.network, self.c
        if self.gateway is not None:
            views = [net.gateway_view.get(backend[0])
                     for backend in net.route_view.get(self.gateway, ())]
        else:
            views = [net.proxy_view.get(self.service)]
        pods = [p for view in views if view is not None for p in view.pods]
        now = c.kernel.now
        serving = [p for p in pods if not p.gone and p.app is not None and p.app.listening(now)]
        # Its own stream: auditing must not change what later traffic draws.
        rng = random.Random(f"audit:{c.seed}:{now}")
        for order in orders:
            if not serving:
                Users.judge(order, Response(None, "refused"))
                continue
            pod = serving[rng.randrange(len(serving))]
            status, body, _ = self._ask(pod.app, Users.audit_call(order))
            Users.judge(order, Response(status, None, body, None, pod.name, pod.record.version))
