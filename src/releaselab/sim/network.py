"""EndpointSlices, kube-proxy and the gateway — each with its own, delayed view.

A pod's readiness or deletion reaches the EndpointSlice after
``endpointslice_s``; kube-proxy rewrites its rules ``proxy_sync_s`` later; a
gateway's Envoy learns it ``gateway_sync_s`` after the slice.  Clients are
routed by those *views*, never by the pod's true state.  That gap — 0.30 s on
the reference cluster — is the endpoint race: a pod that stops listening
before the views drop it refuses the requests still sent to it.

Endpoint conditions follow the EndpointSlice API (terminating endpoints are
listed, GA 1.26): ``ready`` = ready and not terminating, ``serving`` = passing
readiness, ``terminating`` = deletion requested.  kube-proxy sends to ready
endpoints; when none is ready it falls back to serving terminating ones
(KEP-1669, GA 1.28, also for the Cluster traffic policy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .objects import Pod, Service

if TYPE_CHECKING:
    from .cluster import Cluster


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class Network:
    def __init__(self, cluster: "Cluster"):
        self.c = cluster
        #: service name → [(pod, ready, serving, terminating)] (the EndpointSlice's content)
        self.slices: dict[str, list] = {}
        #: service name → pods kube-proxy sends to (its delayed view)
        self.proxy_view: dict[str, tuple] = {}
        #: service name → pods the gateway sends to (its delayed view)
        self.gateway_view: dict[str, tuple] = {}
        #: gateway name → [(service, weight)], as the gateway's data plane has it
        self.route_view: dict[str, tuple] = {}
        self._pending: set[str] = set()

    # -- EndpointSlice controller ----------------------------------------------------
    def pod_changed(self, pod: Pod) -> None:
        labels = pod.labels
        for svc in self.c.services.values():
            if svc.name not in self._pending and _selects(svc.selector, labels):
                self.service_changed(svc.name)

    def service_changed(self, name: str) -> None:
        if name in self._pending:
            return
        self._pending.add(name)
        self.c.kernel.after(self.c.profile.endpointslice_s, self._sync_slice, name)

    def _sync_slice(self, name: str) -> None:
        self._pending.discard(name)
        svc: Optional[Service] = self.c.services.get(name)
        endpoints = []
        if svc is not None:
            for rs in self.c.replicasets_in_order():
                if not _selects(svc.selector, rs.template["metadata"]["labels"]):
                    continue
                for pod in rs.pods:
                    if pod.node is None or pod.gone:
                        continue
                    terminating = pod.deleting is not None
                    endpoints.append((pod, pod.ready and not terminating, pod.ready, terminating))
        if svc is not None and endpoints == self.slices.get(name):
            return
        if svc is None:
            self.slices.pop(name, None)
        else:
            self.slices[name] = endpoints
        view = self.routable(endpoints)
        self.c.kernel.after(self.c.profile.proxy_sync_s, self._set_view, self.proxy_view, name, view)
        self.c.kernel.after(self.c.profile.gateway_sync_s, self._set_view, self.gateway_view, name,
                            view)

    @staticmethod
    def routable(endpoints: list) -> tuple:
        ready = tuple(pod for pod, is_ready, _, _ in endpoints if is_ready)
        if ready:
            return ready
        return tuple(pod for pod, _, serving, terminating in endpoints if serving and terminating)

    @staticmethod
    def _set_view(views: dict, name: str, view: tuple) -> None:
        views[name] = view

    # -- gateway routes ------------------------------------------------------------------
    def routes_changed(self) -> None:
        """An HTTPRoute or Gateway changed: the data plane learns it after gateway_sync_s."""
        table: dict[str, list] = {}
        for route in self.c.routes.values():
            rules = route.spec.get("rules") or []
            refs = (rules[0].get("backendRefs") or []) if rules else []
            for parent in route.spec.get("parentRefs") or []:
                if parent.get("name") in self.c.gateways:
                    table.setdefault(parent["name"], []).extend(
                        (ref["name"], ref.get("weight", 1)) for ref in refs)
        for gateway in set(self.route_view) | set(table) | set(self.c.gateways):
            self.c.kernel.after(self.c.profile.gateway_sync_s, self._set_view, self.route_view,
                                gateway, tuple(table.get(gateway, ())))

    # -- what the EndpointSlice API shows ------------------------------------------------------
    def endpointslice_dict(self, name: str) -> dict:
        endpoints = [{"addresses": [pod.ip], "nodeName": pod.node,
                      "targetRef": {"kind": "Pod", "name": pod.name},
                      "conditions": {"ready": ready, "serving": serving,
                                     "terminating": terminating}}
                     for pod, ready, serving, terminating in self.slices.get(name, [])]
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-slice", "namespace": "releaselab",
                             "labels": {"kubernetes.io/service-name": name}},
                "addressType": "IPv4", "endpoints": endpoints,
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
