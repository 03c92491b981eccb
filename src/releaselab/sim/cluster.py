"""The simulated cluster: the API server's objects and the wiring between controllers.

Controllers never call each other directly; they change objects here, and
the change "notifies the watchers" by enqueueing work with a delay from the
timing profile — the same shape as informers and work queues.
"""

from __future__ import annotations

import copy
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
        self._pending: list[Pod] = []
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
    def replicasets_in_order(self) -> list[ReplicaSet]:
        return sorted(self.replicasets.values(), key=lambda rs: rs.seq)

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
            rs.min_ready_s = d.spec.get("minReadySeconds", 0)
            self.replicaset_controller.update_status_later(rs)

    def node(self, name: Optional[str]) -> Node:
        return next(n for n in self.nodes if n.name == name)

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
        rs.pods.append(pod)
        self.pods[name] = pod
        self.kernel.after(self.profile.schedule_s, self._schedule, pod)
        return pod

    def _schedule(self, pod: Pod) -> None:
        if pod.gone or pod.deleting is not None or pod.node is not None:
            return
        need_cpu, need_mem = pod.template.cpu_m, pod.template.memory_mi
        fits = [n for n in self.nodes if n.schedulable and n.pods < n.max_pods
                and n.used_cpu_m + need_cpu <= n.cpu_m and n.used_memory_mi + need_mem <= n.memory_mi]
        if not fits:
            if pod not in self._pending:
                self._pending.append(pod)
                self.recorder.emit(self.kernel.now, "Pod", pod.name, "FailedScheduling",
                                   self._unschedulable_message(need_cpu, need_mem), "Warning")
            return
        # LeastAllocated scoring: the emptiest node wins; ties go to the first.
        node = min(fits, key=lambda n: (n.used_cpu_m / max(n.cpu_m, 1)
                                        + n.used_memory_mi / max(n.memory_mi, 1), n.index))
        node.used_cpu_m += need_cpu
        node.used_memory_mi += need_mem
        node.pods += 1
        pod.node = node.name
        pod.ip = f"10.244.{node.index}.{(pod.seq % 250) + 2}"
        pod.record.node = node.name
        pod.record.scheduled = round(self.kernel.now, 6)
        if pod in self._pending:
            self._pending.remove(pod)
        self.recorder.emit(self.kernel.now, "Pod", pod.name, "Scheduled",
                           f"Successfully assigned releaselab/{pod.name} to {node.name}")
        self.kubelet.admit(pod)

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
        if pod in pod.rs.pods:
            pod.rs.pods.remove(pod)
        if pod.node is not None:
            node = self.node(pod.node)
            node.used_cpu_m -= pod.template.cpu_m
            node.used_memory_mi -= pod.template.memory_mi
            node.pods -= 1
            for waiting in list(self._pending):
                self.kernel.after(self.profile.schedule_s, self._schedule, waiting)
        if pod.app is not None and pod.app.exited_at is None:
            cut(self, pod.app.exit(self.kernel.now), self.kernel.now)
        self.pod_changed(pod)
        # The deployment controller watches pods too (Recreate waits for old ones to go).
        self.deployments_controller.enqueue(pod.rs.deployment)

    def pod_changed(self, pod: Pod) -> None:
        self.changes += 1
        self.network.pod_changed(pod)
        if pod.rs.name in self.replicasets:
            self.replicaset_controller.update_status_later(pod.rs)
            self.replicaset_controller.enqueue(pod.rs)

    def cut_requests(self, indexes: list[int]) -> None:
        if indexes:
            cut(self, indexes, self.kernel.now)

    def deployment_status_changed(self, d: Deployment) -> None:
        self.changes += 1

    def pods_of(self, deployment: Optional[str]) -> list[Pod]:
        return [p for p in self.pods.values() if deployment is None or p.rs.deployment == deployment]
