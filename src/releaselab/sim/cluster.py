"""The simulated cluster: the API server's objects and the wiring between controllers.

Controllers never call each other directly; they change objects here, and
the change "notifies the watchers" by enqueueing work with a delay from the
timing profile — the same shape as informers and work queues.
"""

from __future__ import annotations

import copy
import heapq
import random
from typing import Iterable, Optional

from .. import rollout as r
from ..manifests import parse_template
from ..timeline import PodRecord, RSStep, Timeline
from .data import DataServers, load_services
from .deployment_controller import DeploymentController
from .events import EventRecorder
from .kernel import Kernel
from .kubelet import Kubelet
from .network import Network
from .objects import (SAFE_ALPHANUMS, Deployment, GatewayObject, Node, Pod, ReplicaSet, Service,
                      template_hash)
from .profile import TimingProfile
from .replicaset_controller import ReplicaSetController
from .traffic import cut

CONTROL_PLANE = "releaselab-control-plane"


class Cluster:
    def __init__(self, *, seed: int, profile: TimingProfile, images: dict, workers: int = 2,
                 node_cpu_m: int = 4000, node_memory_mi: int = 8192, timeline: Timeline):
        self.seed = seed
        self.rng = random.Random(seed)
        self._names = random.Random(f"names:{seed}")
        self.profile = profile
        self.images = images
        self.kernel = Kernel()
        self.timeline = timeline
        self.recorder = EventRecorder(timeline)
        self.deployments: dict[str, Deployment] = {}
        self.replicasets: dict[str, ReplicaSet] = {}
        self.pods: dict[str, Pod] = {}
        self.services: dict[str, Service] = {}
        self.gateways: dict[str, GatewayObject] = {}
        self.routes: dict[str, GatewayObject] = {}
        # kind's layout: a control plane that takes no workloads (its
        # NoSchedule taint) and the workers.
        self.nodes = [Node(CONTROL_PLANE, 0, node_cpu_m, node_memory_mi, schedulable=False)]
        for i in range(workers):
            name = "releaselab-worker" + (str(i + 1) if i else "")
            self.nodes.append(Node(name, i + 1, node_cpu_m, node_memory_mi))
        self.deployments_controller = DeploymentController(self)
        self.replicaset_controller = ReplicaSetController(self)
        self.kubelet = Kubelet(self)
        self.network = Network(self)
        #: lab 05's StatefulSets of postgres / redis, modelled as servers (data.py)
        self.data = DataServers(self, load_services())
        #: called with a request's index when a dying server cuts it (user traffic undoes it)
        self.cut_hooks: list = []
        self._seq = 0
        #: pods no node could take, oldest first (an ordered set)
        self._pending: dict[Pod, None] = {}
        self._retry_queued = False
        self._node_by_name = {n.name: n for n in self.nodes}
        #: (LeastAllocated score, index, version) of every schedulable node; stale
        #: entries (an older version) are skipped — a heap instead of a scan of
        #: every node per pod (5,000 nodes x 100,000 pods).
        self._node_heap: list = []
        for n in self.nodes:
            self._push_node(n)
        #: deployment → node → its active pods there (getPodsRankedByRelatedPodsOnSameNode)
        self.colocated: dict[str, dict[str, int]] = {}
        #: bumped by every change a waiter could be waiting for (cheap "did anything happen?")
        self.changes = 0

    # -- identity ------------------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def uid(self) -> str:
        return f"uid-{self.next_seq():06d}"

    def hash_of(self, template: dict) -> str:
        return template_hash(template)

    # -- ReplicaSets -------------------------------------------------------------------------
    def replicasets_of(self, deployment: str) -> list[ReplicaSet]:
        return sorted((rs for rs in self.replicasets.values() if rs.deployment == deployment),
                      key=lambda rs: rs.seq)

    def create_replicaset(self, d: Deployment, revision: int, size: int, surge: int) -> ReplicaSet:
        digest = self.hash_of(d.template)
        template = copy.deepcopy(d.template)
        template.setdefault("metadata", {}).setdefault("labels", {})[r.POD_TEMPLATE_HASH] = digest
        rs = ReplicaSet(name=f"{d.name}-{digest}", namespace=d.namespace, deployment=d.name,
                        template=template, hash=digest, replicas=size, created=self.kernel.now,
                        seq=self.next_seq(), uid=self.uid(),
                        min_ready_s=d.spec.get("minReadySeconds", 0),
                        annotations={r.REVISION_ANNOTATION: str(revision),
                                     r.DESIRED_REPLICAS_ANNOTATION: str(d.replicas),
                                     r.MAX_REPLICAS_ANNOTATION: str(d.replicas + surge)},
                        parsed=parse_template(template))
        self.replicasets[rs.name] = rs
        self._step(d, rs, 0, size)
        if size > 0:
            self.recorder.emit(self.kernel.now, "Deployment", d.name, "ScalingReplicaSet",
                               f"Scaled up replica set {rs.name} to {size}")
        self.replicaset_controller.enqueue(rs)
        return rs

    def scale_replicaset(self, d: Deployment, rs: ReplicaSet, size: int, direction: str) -> None:
        old = rs.replicas
        rs.replicas = size
        rs.generation += 1
        rs.observed_generation = rs.generation
        self._step(d, rs, old, size)
        self.recorder.emit(self.kernel.now, "Deployment", d.name, "ScalingReplicaSet",
                           f"Scaled {direction} replica set {rs.name} to {size} from {old}")
        self.replicaset_controller.enqueue(rs)

    def _step(self, d: Deployment, rs: ReplicaSet, old: int, new: int) -> None:
        self.timeline.rs_steps.append(RSStep(round(self.kernel.now, 6), rs.name, d.name,
                                             rs.revision, old, new))

    def delete_replicaset(self, rs: ReplicaSet) -> None:
        self.replicasets.pop(rs.name, None)

    def rs_min_ready_changed(self, d: Deployment) -> None:
        for rs in self.replicasets_of(d.name):
            rs.min_ready_changed(d.spec.get("minReadySeconds", 0), self.kernel.now)
            self.replicaset_controller.update_status_later(rs)

    def node(self, name: Optional[str]) -> Node:
        return self._node_by_name[name]

    # -- pods ---------------------------------------------------------------------------------
    def live_pods(self) -> Iterable[Pod]:
        return self.pods.values()

    def create_pod(self, rs: ReplicaSet) -> Pod:
        suffix = "".join(self._names.choice(SAFE_ALPHANUMS) for _ in range(5))
        name = f"{rs.name}-{suffix}"
        version = self.images.get(rs.parsed.image, {}).get("VERSION")
        version = rs.parsed.env_dict().get("VERSION", version) or rs.parsed.image.rsplit(":", 1)[-1]
        record = self.timeline.add_pod(PodRecord(name=name, replicaset=rs.name,
                                                 deployment=rs.deployment, version=version,
                                                 created=round(self.kernel.now, 6)))
        seq = self.next_seq()
        pod = Pod(name=name, rs=rs, record=record, ip="", uid=self.uid(), seq=seq)
        rs.pods[pod] = None
        self.pods[name] = pod
        rs.recount(pod)
        self.kernel.after(self.profile.schedule_s, self._schedule, pod)
        return pod

    def _schedule(self, pod: Pod) -> None:
        if pod.gone or pod.deleting is not None or pod.node is not None:
            return
        need_cpu, need_mem = pod.template.cpu_m, pod.template.memory_mi
        node = self._pick_node(need_cpu, need_mem)
        if node is None:
            if pod not in self._pending:
                self._pending[pod] = None
                self.recorder.emit(self.kernel.now, "Pod", pod.name, "FailedScheduling",
                                   self._unschedulable_message(need_cpu, need_mem), "Warning")
            return
        node.used_cpu_m += need_cpu
        node.used_memory_mi += need_mem
        node.pods += 1
        self._push_node(node)
        pod.node = node.name
        pod.ip = f"10.244.{node.index}.{(pod.seq % 250) + 2}"
        pod.record.node = node.name
        pod.record.scheduled = round(self.kernel.now, 6)
        self._pending.pop(pod, None)
        self._tally(pod)
        self.recorder.emit(self.kernel.now, "Pod", pod.name, "Scheduled",
                           f"Successfully assigned releaselab/{pod.name} to {node.name}")
        self.kubelet.admit(pod)

    def _push_node(self, node: Node) -> None:
        if not node.schedulable:
            return
        node.version += 1
        score = (node.used_cpu_m / max(node.cpu_m, 1)
                 + node.used_memory_mi / max(node.memory_mi, 1))
        heapq.heappush(self._node_heap, (score, node.index, node.version))
        if len(self._node_heap) > 4 * len(self.nodes) + 64:
            # Drop the stale entries now and then: memory stays O(nodes).
            self._node_heap = [e for e in self._node_heap if e[2] == self.nodes[e[1]].version]
            heapq.heapify(self._node_heap)

    def _pick_node(self, cpu: int, memory: int) -> Optional[Node]:
        """The node the scheduler binds to: LeastAllocated scoring, the emptiest
        node that fits wins, ties to the first (same answer as scoring them all)."""
        heap, aside, chosen = self._node_heap, [], None
        while heap:
            entry = heapq.heappop(heap)
            node = self.nodes[entry[1]]
            if entry[2] != node.version:
                continue                          # stale: the node changed since
            aside.append(entry)
            if (node.pods < node.max_pods and node.used_cpu_m + cpu <= node.cpu_m
                    and node.used_memory_mi + memory <= node.memory_mi):
                chosen = node
                break
        for entry in aside:     # still current (the chosen one until it is allocated on)
            heapq.heappush(heap, entry)
        return chosen

    def _retry_pending(self) -> None:
        """Resources were freed: try the pending pods again, oldest first.  Pods with the
        same requests fit or not alike, so one failure per request size ends the round
        for that size (a round costs O(scheduled + sizes), not O(pending))."""
        self._retry_queued = False
        full: set = set()
        for pod in list(self._pending):
            if pod.gone or pod.deleting is not None:
                del self._pending[pod]
                continue
            size = (pod.template.cpu_m, pod.template.memory_mi)
            if size in full:
                continue
            self._schedule(pod)
            if pod in self._pending:
                full.add(size)

    def _unschedulable_message(self, cpu: int, mem: int) -> str:
        reasons: dict[str, int] = {}
        for n in self.nodes:
            if not n.schedulable:
                key = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
            elif n.pods >= n.max_pods:
                key = "Too many pods"
            elif n.used_cpu_m + cpu > n.cpu_m:
                key = "Insufficient cpu"
            else:
                key = "Insufficient memory"
            reasons[key] = reasons.get(key, 0) + 1
        parts = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
        return f"0/{len(self.nodes)} nodes are available: {parts}."

    def delete_pod(self, pod: Pod) -> None:
        if pod.deleting is not None:
            return
        pod.deleting = self.kernel.now
        pod.record.terminating = round(self.kernel.now, 6)
        self.pod_changed(pod)
        if pod.node is None:
            self.kernel.after(self.profile.replicaset_sync_s, self.remove_pod, pod)
        else:
            self.kubelet.kill(pod)

    def remove_pod(self, pod: Pod) -> None:
        if pod.gone:
            return
        pod.gone = True
        pod.record.gone = round(self.kernel.now, 6)
        if pod.deleting is None:
            pod.deleting = self.kernel.now
            pod.record.terminating = pod.record.gone
        self.pods.pop(pod.name, None)
        pod.rs.pods.pop(pod, None)
        self._pending.pop(pod, None)
        if pod.node is not None:
            node = self.node(pod.node)
            node.used_cpu_m -= pod.template.cpu_m
            node.used_memory_mi -= pod.template.memory_mi
            node.pods -= 1
            self._push_node(node)
            if self._pending and not self._retry_queued:
                self._retry_queued = True
                self.kernel.after(self.profile.schedule_s, self._retry_pending)
        if pod.app is not None and pod.app.exited_at is None:
            cut(self, pod.app.exit(self.kernel.now), self.kernel.now)
        self.pod_changed(pod)
        # The deployment controller watches pods too (Recreate waits for old ones to go).
        self.deployments_controller.enqueue(pod.rs.deployment)

    def pod_changed(self, pod: Pod) -> None:
        self.changes += 1
        pod.rs.recount(pod)
        self._tally(pod)
        self.network.pod_changed(pod)
        if pod.rs.name in self.replicasets:
            self.replicaset_controller.update_status_later(pod.rs)
            self.replicaset_controller.enqueue(pod.rs)

    def _tally(self, pod: Pod) -> None:
        """Keep ``colocated`` up to date: an active pod counts on its node."""
        node = pod.node if pod.counted[0] else None
        if node == pod.tallied_node:
            return
        counts = self.colocated.setdefault(pod.rs.deployment, {})
        if pod.tallied_node is not None:
            counts[pod.tallied_node] -= 1
        if node is not None:
            counts[node] = counts.get(node, 0) + 1
        pod.tallied_node = node

    def cut_requests(self, indexes: list[int]) -> None:
        if indexes:
            cut(self, indexes, self.kernel.now)

    def deployment_status_changed(self, d: Deployment) -> None:
        self.changes += 1

    def pods_of(self, deployment: Optional[str]) -> list[Pod]:
        return [p for p in self.pods.values() if deployment is None or p.rs.deployment == deployment]
