"""EndpointSlices, kube-proxy and the gateway — each with its own, delayed view.

A pod's readiness or deletion reaches the EndpointSlice after
``endpointslice_s``; kube-proxy rewrites its rules ``proxy_sync_s`` after
it syncs — at once, or later when its sync runner is rate-limited (see
:class:`ProxySyncRunner`); a gateway's Envoy learns it ``gateway_sync_s``
after the slice.  Clients are routed by those *views*, never by the pod's
true state.  That gap — 0.30 s to about 1.3 s on a kind-like cluster — is
the endpoint race: a pod that stops listening before the views drop it
refuses the requests still sent to it.

Endpoint conditions follow the EndpointSlice API (terminating endpoints are
listed, GA 1.26): ``ready`` = ready and not terminating, ``serving`` = passing
readiness, ``terminating`` = deletion requested.  kube-proxy sends to ready
endpoints; when none is ready it falls back to serving terminating ones
(KEP-1669, GA 1.28, also for the Cluster traffic policy).

Ports: a Service routes through its first port.  A numeric ``targetPort`` is
used as is; a named one resolves per pod against its containers' ports
(``podutil.FindPort``: same name and protocol).  A pod whose containers have
no such port gets no endpoint for it (the EndpointSlice controller's
``getEndpointPorts`` skips the port: upstream lists the pod in a slice
without ports, which no client can reach).  A resolved port the app does not
listen on refuses connections at the pod (see ``traffic.py``).

Cost: membership is kept per Service; a sync re-reads only the pods that
changed since the last one, then copies the routable pods once.  Nothing walks every
ReplicaSet or every pod on a pod change, so a 100,000-pod rollout costs
O(pods + events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

from .objects import Pod, Service

if TYPE_CHECKING:
    from .cluster import Cluster


class View(NamedTuple):
    """What a data plane routes a Service by: its endpoints' pods, and the Service
    as it was when they were computed (its port mapping)."""

    pods: tuple
    service: Service


EMPTY = View((), None)


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class _Slice:
    """One Service's endpoints, kept up to date pod by pod.

    A pod change only marks the pod; the controller's sync (endpointslice_s
    later) reads the marked pods' state then, as a sync reads the informer
    cache: the slice, like the API object, lags the pods by that delay."""

    __slots__ = ("service", "entries", "ready", "fallback", "marked", "dirty")

    def __init__(self, service: Service):
        self.service = service
        #: pod → (ready, serving, terminating): the EndpointSlice's content
        self.entries: dict = {}
        self.ready: dict = {}           # pods kube-proxy sends to (insertion-ordered set)
        self.fallback: dict = {}        # serving and terminating (used when none is ready)
        self.marked: dict = {}          # pods changed since the last sync
        self.dirty = False

    def flush(self) -> None:
        for pod in self.marked:
            self.update(pod)
        self.marked.clear()

    def update(self, pod: Pod) -> bool:
        """Bring ``pod``'s entry up to date; True if the slice changed."""
        if pod.node is None or pod.gone or self.service.target_port(pod.rs) is None:
            entry = None
        else:
            terminating = pod.deleting is not None
            entry = (pod.ready and not terminating, pod.ready, terminating)
        if self.entries.get(pod) == entry:
            return False
        if entry is None:
            del self.entries[pod]
            self.ready.pop(pod, None)
            self.fallback.pop(pod, None)
        else:
            self.entries[pod] = entry
            if entry[0]:
                self.ready[pod] = None
            else:
                self.ready.pop(pod, None)
            if entry[1] and entry[2]:
                self.fallback[pod] = None
            else:
                self.fallback.pop(pod, None)
        self.dirty = True
        return True

    def view(self) -> View:
        return View(tuple(self.ready) or tuple(self.fallback), self.service)


class ProxySyncRunner:
    """kube-proxy's sync loop: client-go's BoundedFrequencyRunner(minSyncPeriod, burst 2).

    Every EndpointSlice change asks for a sync (``Run``); a sync rewrites the
    rules of EVERY Service at once.  A token bucket allows two syncs in a
    burst and then one per ``minSyncPeriod``; a sync asked for without a token
    runs at the last run + minSyncPeriod, and covers every change made
    meanwhile (pkg/proxy/iptables/proxier.go: ``burstSyncs := 2``;
    pkg/util/async/bounded_frequency_runner.go ``tryRun``).  Example with
    minSyncPeriod 1 s: a new pod turns ready at 10.0 s (sync), an old one is
    deleted at 10.2 s (sync: the burst's second token), the next new pod is
    created at 10.3 s → no token → synced at 11.2 s.  A deletion that comes
    third in such a burst keeps receiving traffic for up to a second more.
    """

    BURST = 2

    def __init__(self, cluster: "Cluster", apply):
        self.c = cluster
        self._apply = apply
        self._tokens = float(self.BURST)
        self._refilled_at = 0.0
        self._last_run: Optional[float] = None
        self._scheduled = False

    def request(self) -> None:
        if not self._scheduled:
            self._try()

    def _try(self) -> None:
        now = self.c.kernel.now
        period = self.c.profile.proxy_min_sync_s
        if period > 0:
            self._tokens = min(self.BURST, self._tokens + (now - self._refilled_at) / period)
            self._refilled_at = now
            if self._tokens < 1 - 1e-9:
                self._scheduled = True
                self.c.kernel.at(self._last_run + period, self._retry)
                return
            self._tokens -= 1
        self._last_run = now
        self._apply()

    def _retry(self) -> None:
        self._scheduled = False
        self._try()


class Network:
    def __init__(self, cluster: "Cluster"):
        self.c = cluster
        self._slices: dict[str, _Slice] = {}
        #: service name → the View kube-proxy routes by (its delayed copy)
        self.proxy_view: dict[str, View] = {}
        #: service name → the View the gateway routes by (its delayed copy)
        self.gateway_view: dict[str, View] = {}
        #: gateway name → ((service, weight, valid), ...), as the gateway's data plane has it
        self.route_view: dict[str, tuple] = {}
        #: service name → the View the EndpointSlices give now (what kube-proxy syncs from)
        self._published: dict[str, View] = {}
        self._pending: set[str] = set()
        self.proxy = ProxySyncRunner(cluster, self._proxy_sync)

    # -- EndpointSlice controller ----------------------------------------------------
    def pod_changed(self, pod: Pod) -> None:
        labels = pod.labels
        for name, sl in self._slices.items():
            if _selects(sl.service.selector, labels):
                sl.marked[pod] = None
                if name not in self._pending:
                    self._schedule(name)

    def service_changed(self, name: str) -> None:
        """A Service was applied or deleted: rebuild its slice from every live pod."""
        svc: Optional[Service] = self.c.services.get(name)
        if svc is None:
            self._slices.pop(name, None)
        else:
            sl = self._slices[name] = _Slice(svc)
            selector = svc.selector
            for pod in self.c.pods.values():
                if _selects(selector, pod.labels):
                    sl.marked[pod] = None
            sl.dirty = True
        if name not in self._pending:
            self._schedule(name)
        # A backendRef's validity depends on its Service existing.
        self.routes_changed()

    def _schedule(self, name: str) -> None:
        self._pending.add(name)
        self.c.kernel.after(self.c.profile.endpointslice_s, self._sync_slice, name)

    def _sync_slice(self, name: str) -> None:
        self._pending.discard(name)
        sl = self._slices.get(name)
        if sl is None:
            if name not in self._published:
                return
            del self._published[name]
            view = EMPTY
        else:
            sl.flush()
            if not sl.dirty:
                return
            sl.dirty = False
            view = self._published[name] = sl.view()
        self.proxy.request()
        self.c.kernel.after(self.c.profile.gateway_sync_s, self._set_gateway_view, name, view)

    def _proxy_sync(self) -> None:
        """One kube-proxy sync: every Service's current endpoints, in effect proxy_sync_s later."""
        self.c.kernel.after(self.c.profile.proxy_sync_s, self._set_proxy_view,
                            dict(self._published))

    def _set_proxy_view(self, views: dict) -> None:
        self.proxy_view = views

    def _set_gateway_view(self, name: str, view: View) -> None:
        if view.service is None:
            self.gateway_view.pop(name, None)
        else:
            self.gateway_view[name] = view

    # -- gateway routes ------------------------------------------------------------------
    def routes_changed(self) -> None:
        """An HTTPRoute, Gateway or Service changed: the data plane learns it after gateway_sync_s.

        A backendRef is invalid when its Service does not exist or has no such
        port; the Gateway API then answers 500 for the share of requests that
        would have gone to it (HTTPRouteRule.backendRefs: "500 status codes
        MUST be returned for requests that would have otherwise been routed
        to an invalid backend").
        """
        table: dict[str, list] = {}
        for route in self.c.routes.values():
            rules = route.spec.get("rules") or []
            refs = (rules[0].get("backendRefs") or []) if rules else []
            for parent in route.spec.get("parentRefs") or []:
                if parent.get("name") in self.c.gateways:
                    table.setdefault(parent["name"], []).extend(
                        (ref["name"], ref.get("weight", 1), self._valid(ref)) for ref in refs)
        for gateway in set(self.route_view) | set(table) | set(self.c.gateways):
            self.c.kernel.after(self.c.profile.gateway_sync_s, self._set_route_view, gateway,
                                tuple(table.get(gateway, ())))

    def _valid(self, ref: dict) -> bool:
        svc = self.c.services.get(ref.get("name"))
        if svc is None:
            return False
        port = ref.get("port")
        return port is None or any(p.get("port") == port for p in svc.spec.get("ports") or ())

    def _set_route_view(self, gateway: str, backends: tuple) -> None:
        self.route_view[gateway] = backends

    # -- what the EndpointSlice API shows ------------------------------------------------------
    def endpointslice_dict(self, name: str) -> dict:
        sl = self._slices.get(name)
        entries = sl.entries.items() if sl is not None else ()
        endpoints = [{"addresses": [pod.ip], "nodeName": pod.node,
                      "targetRef": {"kind": "Pod", "name": pod.name},
                      "conditions": {"ready": ready, "serving": serving,
                                     "terminating": terminating}}
                     for pod, (ready, serving, terminating) in entries]
        ports = []
        if sl is not None:
            first = (sl.service.spec.get("ports") or [{}])[0]
            numbers = {sl.service.target_port(pod.rs) for pod, _ in entries}
            if len(numbers) == 1:
                ports = [{"name": first.get("name", ""), "port": numbers.pop(),
                          "protocol": first.get("protocol", "TCP")}]
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-slice", "namespace": "releaselab",
                             "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports}
