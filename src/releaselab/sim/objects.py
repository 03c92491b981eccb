"""The simulated API server's objects, and how they render as Kubernetes dicts.

Controllers work on these Python objects directly (fast); ``get``/``list``
render them into the same dict shape a real API server returns, so the code
that reads them (kubectl-style status, checks, strategies) never knows which
backend it talks to.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from ..manifests import PodTemplate, parse_template
from ..rollout import (DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, POD_TEMPLATE_HASH,
                       REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION)
from ..timeline import PodRecord

# The alphabet client-go's rand.SafeEncodeString uses: no vowels (no words by
# accident) and no 0/1/3 (no confusion with letters).
SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: dict) -> str:
    """A pod-template-hash in the upstream style: a 32-bit hash, its decimal
    digits mapped through SAFE_ALPHANUMS (so "web-5d8c9c7f4b"-like names).

    The hash ignores the pod-template-hash label itself, so restoring an old
    template (rollout undo) finds the old ReplicaSet again.
    """
    clean = copy.deepcopy(template)
    labels = (clean.get("metadata") or {}).get("labels") or {}
    labels.pop(POD_TEMPLATE_HASH, None)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).digest()
    number = int.from_bytes(digest[:4], "big")
    return "".join(SAFE_ALPHANUMS[ord(ch) % len(SAFE_ALPHANUMS)] for ch in str(number))


def _meta(name: str, namespace: str, labels: dict, annotations: dict, created: float,
          generation: int, uid: str, owner: Optional[tuple] = None) -> dict:
    meta = {"name": name, "namespace": namespace, "labels": dict(labels),
            "annotations": dict(annotations), "creationTimestamp": round(created, 6),
            "generation": generation, "uid": uid}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                    "controller": True}]
    return meta


@dataclass
class Condition:
    type: str
    status: str
    reason: str
    message: str
    last_update: float
    last_transition: float

    def to_dict(self) -> dict:
        return {"type": self.type, "status": self.status, "reason": self.reason,
                "message": self.message, "lastUpdateTime": self.last_update,
                "lastTransitionTime": self.last_transition}


@dataclass(eq=False)
class Deployment:
    name: str
    namespace: str
    labels: dict
    annotations: dict
    spec: dict                      # validated and defaulted, Kubernetes field names
    created: float
    uid: str
    generation: int = 1
    status: dict = field(default_factory=dict)
    conditions: list = field(default_factory=list)

    @property
    def replicas(self) -> int:
        return self.spec["replicas"]

    @property
    def template(self) -> dict:
        return self.spec["template"]

    @property
    def rolling(self) -> bool:
        return self.spec["strategy"]["type"] == "RollingUpdate"

    def condition(self, ctype: str) -> Optional[Condition]:
        return next((c for c in self.conditions if c.type == ctype), None)

    def to_dict(self) -> dict:
        status = dict(self.status)
        status["conditions"] = [c.to_dict() for c in self.conditions]
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": _meta(self.name, self.namespace, self.labels, self.annotations,
                                  self.created, self.generation, self.uid),
                "spec": copy.deepcopy(self.spec), "status": status}


@dataclass(eq=False)
class ReplicaSet:
    name: str
    namespace: str
    deployment: str
    template: dict                  # includes the pod-template-hash label
    hash: str
    replicas: int
    created: float
    seq: int
    uid: str
    min_ready_s: int
    annotations: dict = field(default_factory=dict)
    parsed: Optional[PodTemplate] = None
    generation: int = 1
    observed_generation: int = 1
    # status, as the ReplicaSet controller last wrote it
    status_replicas: int = 0
    status_ready: int = 0
    status_available: int = 0
    #: live Pod objects it owns, oldest first (a dict as an ordered set: O(1) removal)
    pods: dict = field(default_factory=dict)
    # Counts kept per pod change (recount), so a status update or a sync costs
    # O(1), not O(pods): 100,000-pod ReplicaSets sync hundreds of times a rollout.
    n_active: int = 0           # pods it counts (not terminating, not finished)
    n_ready: int = 0            # ... of those, ready
    n_not_available: int = 0    # ... of those, ready for less than minReadySeconds
    #: (ready since, pod) of the pods counted in n_not_available, oldest first
    becoming_available: deque = field(default_factory=deque)
    #: the counted pods that are not ready (they rank first for deletion), and the
    #: ready ones by node: what the ReplicaSet controller picks victims from
    weak: dict = field(default_factory=dict)
    ready_by_node: dict = field(default_factory=dict)
    #: id(probe) of its template → (port number, error): the kubelet resolves each once
    probe_ports: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.parsed is None:
            self.parsed = parse_template(self.template)

    def recount(self, pod: "Pod") -> None:
        """Bring the counts up to date with ``pod``'s state (called on every pod change)."""
        active = pod.active
        ready = active and pod.ready
        was_active, was_ready = pod.counted
        if active == was_active and ready == was_ready:
            return
        pod.counted = (active, ready)
        self.n_active += active - was_active
        self.n_ready += ready - was_ready
        if active and not ready:
            self.weak[pod] = None
        else:
            self.weak.pop(pod, None)
        if ready != was_ready:
            if ready:
                self.ready_by_node.setdefault(pod.node, {})[pod] = None
            else:
                on_node = self.ready_by_node[pod.node]
                del on_node[pod]
                if not on_node:
                    del self.ready_by_node[pod.node]
        if ready and self.min_ready_s > 0:
            pod.awaiting_available = True
            self.n_not_available += 1
            self.becoming_available.append((pod.ready_since, pod))
        elif not ready and pod.awaiting_available:
            pod.awaiting_available = False
            self.n_not_available -= 1

    def available(self, now: float) -> tuple[int, Optional[float]]:
        """(available pods, when the next one becomes available or None) at ``now``.

        A pod is available once ready for minReadySeconds; the queue holds the
        ready ones still waiting, oldest first, so this pops only what changed.
        Example: minReadySeconds 10, pods ready at 3 s and 5 s: at 12 s one is
        available and the next becomes so at 15 s."""
        queue = self.becoming_available
        while queue:
            since, pod = queue[0]
            if not pod.awaiting_available or pod.ready_since != since:
                queue.popleft()                 # no longer ready, or ready again since
            elif now >= since + self.min_ready_s - 1e-9:
                queue.popleft()
                pod.awaiting_available = False
                self.n_not_available -= 1
            else:
                return self.n_ready - self.n_not_available, since + self.min_ready_s
        return self.n_ready - self.n_not_available, None

    def min_ready_changed(self, min_ready_s: int, now: float) -> None:
        """minReadySeconds changed: rebuild the waiting queue (rare: O(pods))."""
        self.min_ready_s = min_ready_s
        self.becoming_available.clear()
        self.n_not_available = 0
        waiting = []
        for pod in self.pods:
            pod.awaiting_available = False
            if pod.counted[1] and min_ready_s > 0 and now < pod.ready_since + min_ready_s - 1e-9:
                waiting.append((pod.ready_since, pod.seq, pod))
        for since, _, pod in sorted(waiting, key=lambda w: w[:2]):
            pod.awaiting_available = True
            self.n_not_available += 1
            self.becoming_available.append((since, pod))

    @property
    def revision(self) -> int:
        return int(self.annotations.get(REVISION_ANNOTATION, "0"))

    def to_dict(self) -> dict:
        selector = {k: v for k, v in self.template["metadata"]["labels"].items()}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": _meta(self.name, self.namespace, self.template["metadata"]["labels"],
                                  self.annotations, self.created, self.generation, self.uid,
                                  ("Deployment", self.deployment)),
                "spec": {"replicas": self.replicas, "minReadySeconds": self.min_ready_s,
                         "selector": {"matchLabels": selector},
                         "template": copy.deepcopy(self.template)},
                "status": {"replicas": self.status_replicas, "readyReplicas": self.status_ready,
                           "availableReplicas": self.status_available,
                           "observedGeneration": self.observed_generation}}


ANNOTATIONS_OF_RS = (REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION,
                     DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION)


@dataclass(eq=False)
class Pod:
    """A pod and the state of its single (modelled) container."""

    name: str
    rs: ReplicaSet
    record: PodRecord
    ip: str
    uid: str
    seq: int
    node: Optional[str] = None
    phase: str = "Pending"
    ready: bool = False
    ready_since: Optional[float] = None
    deleting: Optional[float] = None          # deletionTimestamp
    gone: bool = False
    waiting_reason: Optional[str] = "ContainerCreating"
    restarts: int = 0
    app: object = None                        # sim.app.AppProcess while a container runs
    generation_of_container: int = 0          # bumps on restart: stale timers check it
    started_ok: bool = False                  # startupProbe has succeeded
    reported_ready: tuple = (False, 0)        # last readiness the kubelet sent, and for which run
    counted: tuple = (False, False)           # (active, ready) as its ReplicaSet last counted it
    awaiting_available: bool = False          # ready, not yet for minReadySeconds
    tallied_node: Optional[str] = None        # the node it counts on in Cluster.colocated

    @property
    def template(self) -> PodTemplate:
        return self.rs.parsed

    @property
    def labels(self) -> dict:
        return self.rs.template["metadata"]["labels"]

    @property
    def active(self) -> bool:
        """Counted by its ReplicaSet: not terminating, not finished."""
        return self.deleting is None and not self.gone and self.phase not in ("Succeeded", "Failed")

    def to_dict(self) -> dict:
        c = self.template
        state: dict
        if self.app is not None and self.phase == "Running":
            state = {"running": {"startedAt": self.record.started}}
        elif self.waiting_reason:
            state = {"waiting": {"reason": self.waiting_reason}}
        else:
            state = {"terminated": {"reason": "Completed"}}
        meta = _meta(self.name, self.rs.namespace, self.labels, {}, self.record.created or 0.0,
                     1, self.uid, ("ReplicaSet", self.rs.name))
        if self.deleting is not None:
            meta["deletionTimestamp"] = round(self.deleting, 6)
        conditions = [{"type": "PodScheduled", "status": "True" if self.node else "False"},
                      {"type": "Ready", "status": "True" if self.ready else "False"}]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": self.node, **copy.deepcopy(self.rs.template["spec"])},
                "status": {"phase": self.phase, "podIP": self.ip if self.node else None,
                           "conditions": conditions,
                           "containerStatuses": [{"name": c.container, "image": c.image,
                                                  "ready": self.ready,
                                                  "restartCount": self.restarts,
                                                  "state": state}]}}


@dataclass(eq=False)
class Service:
    name: str
    namespace: str
    labels: dict
    spec: dict
    created: float
    uid: str

    #: ReplicaSet name → the port its pods' endpoints get (None: no endpoint)
    _target_ports: dict = field(default_factory=dict, repr=False)

    @property
    def selector(self) -> dict:
        return self.spec.get("selector") or {}

    def target_port(self, rs: "ReplicaSet") -> Optional[int]:
        """The first Service port's targetPort for the pods of ``rs``: a number as is, a
        name through their containers' ports (podutil.FindPort), None if none has it."""
        try:
            return self._target_ports[rs.name]
        except KeyError:
            pass
        first = (self.spec.get("ports") or [{}])[0]
        target = first.get("targetPort", first.get("port"))
        if isinstance(target, str):
            number = rs.parsed.container_port(target, first.get("protocol", "TCP"))
        else:
            number = target
        self._target_ports[rs.name] = number
        return number

    def to_dict(self) -> dict:
        return {"apiVersion": "v1", "kind": "Service",
                "metadata": _meta(self.name, self.namespace, self.labels, {}, self.created, 1,
                                  self.uid),
                "spec": copy.deepcopy(self.spec), "status": {}}


@dataclass(eq=False)
class GatewayObject:
    """A Gateway or an HTTPRoute, kept as its (validated) dict."""

    kind: str
    name: str
    namespace: str
    labels: dict
    spec: dict
    created: float
    uid: str

    def to_dict(self) -> dict:
        status: dict = {}
        if self.kind == "Gateway":
            status = {"addresses": [{"type": "IPAddress", "value": "172.18.0.100"}],
                      "conditions": [{"type": "Programmed", "status": "True"}]}
        return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": self.kind,
                "metadata": _meta(self.name, self.namespace, self.labels, {}, self.created, 1,
                                  self.uid),
                "spec": copy.deepcopy(self.spec), "status": status}


@dataclass(eq=False)
class Node:
    name: str
    index: int
    cpu_m: int
    memory_mi: int
    max_pods: int = 110
    schedulable: bool = True
    used_cpu_m: int = 0
    used_memory_mi: int = 0
    pods: int = 0
    status_free_at: float = 0.0       # when its kubelet's status manager is free again
    version: int = 0                  # bumped when its allocation changes (the scheduler's heap)
