"""The ReplicaSet controller: make the number of pods match spec.replicas.

When it must delete pods it picks them as upstream does (``ActivePodsWithRanks``):
the ones whose loss hurts least go first — unscheduled before scheduled,
Pending before Running, not ready before ready, pods doubled up on a node
before lonely ones, recently ready before long ready, more restarts before
fewer, newer before older.  Time comparisons use log2 buckets
(LogarithmicScaleDown, on by default since 1.22), so pods of roughly the same
age count as equal and the next rule decides.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .objects import Pod, ReplicaSet

if TYPE_CHECKING:
    from .cluster import Cluster


def _log_bucket(now: float, since: float) -> int:
    age = max(now - since, 0.0)
    return int(math.log2(age)) if age >= 1 else -1


def deletion_rank(pod: Pod, now: float, colocated: int) -> tuple:
    """Sort key: smaller = deleted first."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod.phase, 0)
    ready_bucket = _log_bucket(now, pod.ready_since) if pod.ready and pod.ready_since else 0
    created = pod.record.created or 0.0
    return (
        pod.node is not None,          # unassigned first
        phase_rank,                    # Pending < Unknown < Running
        pod.ready,                     # not ready first
        -colocated,                    # more pods of the set on its node first
        ready_bucket,                  # ready for less time first
        -pod.restarts,                 # more restarts first
        _log_bucket(now, created),     # newer first
        -pod.seq,
    )


class ReplicaSetController:
    def __init__(self, cluster: "Cluster"):
        self.c = cluster
        self._queued: set[str] = set()
        self._status_queued: set[str] = set()

    def enqueue(self, rs: ReplicaSet) -> None:
        if rs.name in self._queued:
            return
        self._queued.add(rs.name)
        self.c.kernel.after(self.c.profile.replicaset_sync_s, self._sync, rs.name)

    def _sync(self, name: str) -> None:
        self._queued.discard(name)
        rs = self.c.replicasets.get(name)
        if rs is None:
            return
        active = [p for p in rs.pods if p.active]
        diff = len(active) - rs.replicas
        if diff < 0:
            for _ in range(-diff):
                pod = self.c.create_pod(rs)
                self.c.recorder.emit(self.c.kernel.now, "ReplicaSet", rs.name, "SuccessfulCreate",
                                     f"Created pod: {pod.name}")
        elif diff > 0:
            now = self.c.kernel.now
            related = [p for s in self.c.replicasets_of(rs.deployment) for p in s.pods if p.active]
            per_node: dict = {}
            for p in related:
                per_node[p.node] = per_node.get(p.node, 0) + 1
            victims = sorted(active, key=lambda p: deletion_rank(
                p, now, per_node.get(p.node, 0) if p.node else 0))[:diff]
            for pod in victims:
                self.c.delete_pod(pod)
                self.c.recorder.emit(now, "ReplicaSet", rs.name, "SuccessfulDelete",
                                     f"Deleted pod: {pod.name}")
        self.update_status_later(rs)

    def update_status_later(self, rs: ReplicaSet) -> None:
        if rs.name in self._status_queued:
            return
        self._status_queued.add(rs.name)
        self.c.kernel.after(self.c.profile.replicaset_status_s, self._update_status, rs.name)

    def _update_status(self, name: str) -> None:
        self._status_queued.discard(name)
        rs = self.c.replicasets.get(name)
        if rs is None:
            return
        now = self.c.kernel.now
        active = ready = available = 0
        next_available = None
        for p in rs.pods:
            if not p.active:
                continue
            active += 1
            if not p.ready:
                continue
            ready += 1
            becomes_available = p.ready_since + rs.min_ready_s
            if now >= becomes_available - 1e-9:
                available += 1
            elif next_available is None or becomes_available < next_available:
                next_available = becomes_available
        if next_available is not None:
            # A pod that is ready but not yet available becomes available
            # minReadySeconds after it became ready: look again then.
            self.c.kernel.at(next_available, self.update_status_later, rs)
        new = (active, ready, available)
        if new != (rs.status_replicas, rs.status_ready, rs.status_available):
            rs.status_replicas, rs.status_ready, rs.status_available = new
            self.c.deployments_controller.enqueue(rs.deployment)
