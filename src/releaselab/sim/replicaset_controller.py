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

import heapq
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
        diff = rs.n_active - rs.replicas
        if diff < 0:
            for _ in range(-diff):
                pod = self.c.create_pod(rs)
                self.c.recorder.emit(self.c.kernel.now, "ReplicaSet", rs.name, "SuccessfulCreate",
                                     f"Created pod: {pod.name}")
        elif diff > 0:
            now = self.c.kernel.now
            for pod in self._victims(rs, diff, now):
                self.c.delete_pod(pod)
                self.c.recorder.emit(now, "ReplicaSet", rs.name, "SuccessfulDelete",
                                     f"Deleted pod: {pod.name}")
        self.update_status_later(rs)

    def _victims(self, rs: ReplicaSet, count: int, now: float) -> list[Pod]:
        """The ``count`` active pods upstream's getPodsToDelete picks, lowest rank first.

        Same answer as ranking every pod, at the cost of the pods it picks: not
        ready pods rank before every ready one (so they go first, ranked among
        themselves); ready ones rank first by how many pods of the Deployment
        share their node, so whole nodes are taken from the most crowded down,
        and only the last, partly taken group is ranked pod by pod.  Example:
        3 victims, no pod unready, nodes with 5, 5 and 4 pods of the Deployment
        holding 1, 1 and 2 of this ReplicaSet's pods: the two on the 5-pod
        nodes go, then the better-ranked of the two on the 4-pod node.
        """
        colocated = self.c.colocated.get(rs.deployment, {})

        def rank(p: Pod) -> tuple:
            return deletion_rank(p, now, colocated.get(p.node, 0) if p.node else 0)

        weak = list(rs.weak)
        if count <= len(weak):
            return heapq.nsmallest(count, weak, key=rank)
        victims = sorted(weak, key=rank)
        need = count - len(weak)
        levels: dict[int, list] = {}
        for node in rs.ready_by_node:
            levels.setdefault(colocated.get(node, 0), []).append(node)
        for level in sorted(levels, reverse=True):
            group = [p for node in levels[level] for p in rs.ready_by_node[node]]
            if len(group) >= need:
                return victims + heapq.nsmallest(need, group, key=rank)
            victims += sorted(group, key=rank)
            need -= len(group)
        return victims

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
        available, next_available = rs.available(self.c.kernel.now)
        if next_available is not None:
            # A pod that is ready but not yet available becomes available
            # minReadySeconds after it became ready: look again then.
            self.c.kernel.at(next_available, self.update_status_later, rs)
        new = (rs.n_active, rs.n_ready, available)
        if new != (rs.status_replicas, rs.status_ready, rs.status_available):
            rs.status_replicas, rs.status_ready, rs.status_available = new
            self.c.deployments_controller.enqueue(rs.deployment)
