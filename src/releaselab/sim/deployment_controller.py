"""The Deployment controller, one sync at a time, as upstream does it.

``syncDeployment`` → paused? ``sync`` (scale only) → scaling event?
``sync`` (proportional scaling) → else ``rolloutRolling`` / ``rolloutRecreate``.
A rolling sync takes ONE action — scale the new ReplicaSet up, or else scale
old ones down — then writes status and waits for the next watch event.  That
is why a rollout is a sequence of small steps separated by pods becoming
available, and why the same arithmetic (``releaselab.rollout``) explains it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional

from .. import rollout as r
from .objects import Condition, Deployment, ReplicaSet

if TYPE_CHECKING:
    from .cluster import Cluster


def _api_time(t: float) -> float:
    """metav1.Time is stored with one-second precision: the progress deadline
    counts from the last whole second, not the exact instant.  (Example: last
    progress at 12.7 s, deadline 15 s → timed out after 27 s, not 27.7 s.)"""
    return float(math.floor(t))


class DeploymentController:
    def __init__(self, cluster: "Cluster"):
        self.c = cluster
        self._queued: set[str] = set()

    # -- work queue -------------------------------------------------------------
    def enqueue(self, name: str, delay: Optional[float] = None) -> None:
        if name in self._queued:
            return
        self._queued.add(name)
        self.c.kernel.after(self.c.profile.deployment_sync_s if delay is None else delay,
                            self._run, name)

    def enqueue_at(self, name: str, t: float) -> None:
        # A timed requeue (minReadySeconds, progress check) is separate from the
        # watch-driven queue: it must fire even if a sync happens before it.
        self.c.kernel.at(t, self.enqueue, name)

    def _run(self, name: str) -> None:
        self._queued.discard(name)
        d = self.c.deployments.get(name)
        if d is not None:
            self.sync(d)

    # -- syncDeployment -----------------------------------------------------------
    def sync(self, d: Deployment) -> None:
        rs_list = self.c.replicasets_of(d.name)
        self._check_paused_conditions(d)
        if d.spec.get("paused"):
            self._sync_scale_only(d, rs_list)
            return
        if self._is_scaling_event(d, rs_list):
            self._sync_scale_only(d, rs_list)
            return
        if d.rolling:
            self._rollout_rolling(d, rs_list)
        else:
            self._rollout_recreate(d, rs_list)

    def _fenceposts(self, d: Deployment) -> tuple[int, int]:
        if not d.rolling:
            return 0, 0
        ru = d.spec["strategy"]["rollingUpdate"]
        return r.resolve_fenceposts(ru["maxSurge"], ru["maxUnavailable"], d.replicas)

    def _max_unavailable(self, d: Deployment) -> int:
        if not d.rolling or d.replicas == 0:
            return 0
        return min(self._fenceposts(d)[1], d.replicas)

    def _views(self, rs_list: list[ReplicaSet]) -> list[r.RSView]:
        return [r.RSView(rs.name, rs.replicas, rs.status_available, rs.seq,
                         _int(rs.annotations.get(r.MAX_REPLICAS_ANNOTATION)))
                for rs in rs_list]

    # -- the new ReplicaSet and revisions ------------------------------------------
    def _split(self, d: Deployment, rs_list: list[ReplicaSet]):
        digest = self.c.hash_of(d.template)
        matches = sorted((rs for rs in rs_list if rs.hash == digest), key=lambda rs: rs.seq)
        new = matches[0] if matches else None
        old = [rs for rs in rs_list if rs is not new]
        return new, old

    def _all_and_sync_revision(self, d: Deployment, rs_list: list[ReplicaSet], create: bool):
        new, old = self._split(d, rs_list)
        max_old = max((rs.revision for rs in old), default=0)
        revision = max_old + 1
        if new is not None:
            if new.revision < revision:
                # Rolling back to an existing ReplicaSet: it takes the newest
                # revision number; its old number goes to revision-history.
                history = new.annotations.get(r.REVISION_HISTORY_ANNOTATION)
                previous = str(new.revision)
                new.annotations[r.REVISION_HISTORY_ANNOTATION] = (
                    f"{history},{previous}" if history else previous)
                new.annotations[r.REVISION_ANNOTATION] = str(revision)
            d.annotations[r.REVISION_ANNOTATION] = new.annotations[r.REVISION_ANNOTATION]
            if d.condition("Progressing") is None and d.spec.get("progressDeadlineSeconds"):
                self._set_condition(d, "Progressing", "True", r.FOUND_NEW_RS,
                                    f'Found new replica set "{new.name}"')
            return new, old
        if not create:
            return None, old
        surge, _ = self._fenceposts(d)
        views = self._views(old)
        size = (r.new_rs_new_replicas(d.replicas, surge, views, r.RSView("", 0))
                if d.rolling else d.replicas)
        new = self.c.create_replicaset(d, revision, size, surge)
        d.annotations[r.REVISION_ANNOTATION] = str(revision)
        if d.spec.get("progressDeadlineSeconds"):
            self._set_condition(d, "Progressing", "True", r.NEW_RS_CREATED,
                                f'Created new replica set "{new.name}"', force=True)
        return new, old

    # -- scaling -------------------------------------------------------------------
    def _scale(self, d: Deployment, rs: ReplicaSet, size: int, direction: str = "") -> bool:
        surge, _ = self._fenceposts(d)
        annotations_changed = (rs.annotations.get(r.DESIRED_REPLICAS_ANNOTATION) != str(d.replicas)
                               or rs.annotations.get(r.MAX_REPLICAS_ANNOTATION)
                               != str(d.replicas + surge))
        if rs.replicas == size and not annotations_changed:
            return False
        rs.annotations[r.DESIRED_REPLICAS_ANNOTATION] = str(d.replicas)
        rs.annotations[r.MAX_REPLICAS_ANNOTATION] = str(d.replicas + surge)
        if rs.replicas == size:
            return False
        self.c.scale_replicaset(d, rs, size, direction or ("up" if size > rs.replicas else "down"))
        return True

    def _is_scaling_event(self, d: Deployment, rs_list: list[ReplicaSet]) -> bool:
        for rs in rs_list:
            if rs.replicas > 0:
                desired = _int(rs.annotations.get(r.DESIRED_REPLICAS_ANNOTATION))
                if desired is not None and desired != d.replicas:
                    return True
        return False

    def _sync_scale_only(self, d: Deployment, rs_list: list[ReplicaSet]) -> None:
        new, old = self._all_and_sync_revision(d, rs_list, create=False)
        self._proportional_scale(d, new, old)
        if d.spec.get("paused"):
            self._cleanup(d, old)
        self._write_status(d, [*old, *([new] if new else [])], new, rollout=False)

    def _proportional_scale(self, d: Deployment, new: Optional[ReplicaSet],
                            old: list[ReplicaSet]) -> None:
        active = [rs for rs in [*old, *([new] if new else [])] if rs.replicas > 0]
        if len(active) <= 1:
            # One active ReplicaSet (or none: then the newest) takes the whole count.
            target = active[0] if active else (new or (max(old, key=lambda rs: rs.seq)
                                                       if old else None))
            if target is not None:
                self._scale(d, target, d.replicas)
            return
        if new is not None and new.replicas == d.replicas and new.status_available == d.replicas \
                and new.annotations.get(r.DESIRED_REPLICAS_ANNOTATION) == str(d.replicas):
            for rs in old:
                if rs.replicas > 0:
                    self._scale(d, rs, 0)
            return
        if not d.rolling:
            return
        surge, _ = self._fenceposts(d)
        status_replicas = d.status.get("replicas", 0)
        sizes = r.proportional_sizes(d.replicas, surge, self._views(active), status_replicas)
        direction = "up" if sum(sizes.values()) > sum(rs.replicas for rs in active) else "down"
        for rs in sorted(active, key=lambda rs: (-rs.replicas, rs.seq)):
            self._scale(d, rs, sizes[rs.name], direction)

    # -- rolloutRolling --------------------------------------------------------------
    def _rollout_rolling(self, d: Deployment, rs_list: list[ReplicaSet]) -> None:
        new, old = self._all_and_sync_revision(d, rs_list, create=True)
        all_rs = [*old, new]
        if self._reconcile_new(d, all_rs, new):
            self._write_status(d, all_rs, new)
            return
        if self._reconcile_old(d, all_rs, old, new):
            self._write_status(d, all_rs, new)
            return
        if r.deployment_complete(d.replicas, d.status, d.generation):
            self._cleanup(d, old)
        self._write_status(d, all_rs, new)

    def _reconcile_new(self, d: Deployment, all_rs: list[ReplicaSet], new: ReplicaSet) -> bool:
        if new.replicas == d.replicas:
            return False
        if new.replicas > d.replicas:
            return self._scale(d, new, d.replicas)
        surge, _ = self._fenceposts(d)
        size = r.new_rs_new_replicas(d.replicas, surge, self._views(all_rs), self._views([new])[0])
        return self._scale(d, new, size)

    def _reconcile_old(self, d: Deployment, all_rs: list[ReplicaSet], old: list[ReplicaSet],
                       new: ReplicaSet) -> bool:
        if sum(rs.replicas for rs in old) == 0:
            return False
        max_unavailable = self._max_unavailable(d)
        budget = r.max_scaled_down(d.replicas, max_unavailable, self._views(all_rs),
                                   self._views([new])[0])
        if budget <= 0:
            return False
        active_old = [rs for rs in old if rs.replicas > 0]
        by_name = {rs.name: rs for rs in active_old}
        changed = False
        for name, size in r.cleanup_unhealthy_replicas(self._views(active_old), budget).items():
            changed |= self._scale(d, by_name[name], size)
        # The second pass sees the first pass's new sizes (the controller keeps
        # the updated objects) but the same, older availability counts.
        views_all = self._views([*old, new])
        views_old = self._views([rs for rs in old if rs.replicas > 0])
        for name, size in r.scale_down_old_for_rolling(d.replicas, max_unavailable, views_all,
                                                       views_old).items():
            changed |= self._scale(d, by_name[name], size)
        return changed

    # -- rolloutRecreate ---------------------------------------------------------------
    def _rollout_recreate(self, d: Deployment, rs_list: list[ReplicaSet]) -> None:
        new, old = self._all_and_sync_revision(d, rs_list, create=False)
        all_rs = [*old, *([new] if new else [])]
        scaled = False
        for rs in old:
            if rs.replicas > 0:
                scaled |= self._scale(d, rs, 0)
        if scaled or any(rs.pods for rs in old):       # rs.pods holds the pods not gone
            # Recreate waits until every old pod is gone, terminating ones included:
            # that wait is the downtime the strategy is known for.
            self._write_status(d, all_rs, new)
            return
        if new is None:
            new, old = self._all_and_sync_revision(d, rs_list, create=True)
            all_rs = [*old, new]
        self._scale(d, new, d.replicas)
        if r.deployment_complete(d.replicas, d.status, d.generation):
            self._cleanup(d, old)
        self._write_status(d, all_rs, new)

    # -- cleanup and status ---------------------------------------------------------------
    def _cleanup(self, d: Deployment, old: list[ReplicaSet]) -> None:
        limit = d.spec.get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = sorted(old, key=lambda rs: (rs.revision, rs.seq))
        for rs in cleanable[: max(0, len(cleanable) - limit)]:
            if rs.replicas == 0 and rs.status_replicas == 0 and not rs.pods:
                self.c.delete_replicaset(rs)

    def _check_paused_conditions(self, d: Deployment) -> None:
        if not d.spec.get("progressDeadlineSeconds"):
            return
        cond = d.condition("Progressing")
        if cond and cond.reason == r.TIMED_OUT:
            return
        paused = d.spec.get("paused")
        if paused and (cond is None or cond.reason != r.PAUSED):
            self._set_condition(d, "Progressing", "Unknown", r.PAUSED, "Deployment is paused",
                                force=True)
            self.enqueue(d.name)
        elif not paused and cond is not None and cond.reason == r.PAUSED:
            self._set_condition(d, "Progressing", "Unknown", r.RESUMED, "Deployment is resumed",
                                force=True)
            self.enqueue(d.name)

    def _set_condition(self, d: Deployment, ctype: str, status: str, reason: str, message: str,
                       force: bool = False, keep_transition: bool = False) -> None:
        now = _api_time(self.c.kernel.now)
        cur = d.condition(ctype)
        if cur is not None and cur.status == status and cur.reason == reason and not force:
            return
        transition = cur.last_transition if cur is not None and (cur.status == status or
                                                                  keep_transition) else now
        d.conditions = [c for c in d.conditions if c.type != ctype]
        d.conditions.append(Condition(ctype, status, reason, message, now, transition))
        d.conditions.sort(key=lambda c: 0 if c.type == "Available" else 1)

    def _write_status(self, d: Deployment, all_rs: list[ReplicaSet], new: Optional[ReplicaSet],
                      rollout: bool = True) -> None:
        before = dict(d.status)
        conditions_before = [c.to_dict() for c in d.conditions]
        available = sum(rs.status_available for rs in all_rs)
        status = {
            "observedGeneration": d.generation,
            "replicas": sum(rs.status_replicas for rs in all_rs),
            "updatedReplicas": new.status_replicas if new else 0,
            "readyReplicas": sum(rs.status_ready for rs in all_rs),
            "availableReplicas": available,
            "unavailableReplicas": max(0, sum(rs.replicas for rs in all_rs) - available),
        }
        if available >= d.replicas - self._max_unavailable(d):
            self._set_condition(d, "Available", "True", r.MIN_AVAILABLE,
                                "Deployment has minimum availability.")
        else:
            self._set_condition(d, "Available", "False", r.MIN_UNAVAILABLE,
                                "Deployment does not have minimum availability.")
        if rollout and d.spec.get("progressDeadlineSeconds") and new is not None:
            self._progress(d, before, status, new)
        # Counts of 0 are omitted, as the API's omitempty does.
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        d.status = status
        if status != before or [c.to_dict() for c in d.conditions] != conditions_before:
            self.c.deployment_status_changed(d)
            self.enqueue(d.name)       # the status write is itself a watch event
        else:
            self._requeue_stuck(d)

    def _progress(self, d: Deployment, before: dict, status: dict, new: ReplicaSet) -> None:
        cond = d.condition("Progressing")
        complete_already = (status["replicas"] == status["updatedReplicas"] and cond is not None
                            and cond.reason == r.NEW_RS_AVAILABLE)
        if complete_already:
            return
        if r.deployment_complete(d.replicas, status, d.generation):
            self._set_condition(d, "Progressing", "True", r.NEW_RS_AVAILABLE,
                                f'ReplicaSet "{new.name}" has successfully progressed.')
        elif r.deployment_progressing(before, status):
            # Same reason, fresh lastUpdateTime: this is what the deadline counts from.
            self._set_condition(d, "Progressing", "True", r.RS_UPDATED,
                                f'ReplicaSet "{new.name}" is progressing.', force=True,
                                keep_transition=cond is not None and cond.status == "True")
        elif self._timed_out(d):
            self._set_condition(d, "Progressing", "False", r.TIMED_OUT,
                                f'ReplicaSet "{new.name}" has timed out progressing.')

    def _timed_out(self, d: Deployment) -> bool:
        cond = d.condition("Progressing")
        if cond is None or cond.reason == r.NEW_RS_AVAILABLE:
            return False
        if cond.reason == r.TIMED_OUT:
            return True
        return cond.last_update + d.spec["progressDeadlineSeconds"] < self.c.kernel.now

    def _requeue_stuck(self, d: Deployment) -> None:
        cond = d.condition("Progressing")
        if cond is None or not d.spec.get("progressDeadlineSeconds"):
            return
        if r.deployment_complete(d.replicas, d.status, d.generation) or cond.reason == r.TIMED_OUT:
            return
        if d.spec.get("paused"):
            return
        after = cond.last_update + d.spec["progressDeadlineSeconds"] - self.c.kernel.now
        # Upstream adds a second "to avoid milliseconds skew" (kubernetes#39785).
        self.enqueue_at(d.name, self.c.kernel.now + (after + 1.0 if after >= 1.0 else 0.5))


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
