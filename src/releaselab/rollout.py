"""The Deployment controller's arithmetic, as pure functions.

Objects in, numbers out: no clock, no randomness, no I/O.  The simulator's
controller calls these, and so do the checks and the book.  Each function
follows the upstream code of the same name in
``pkg/controller/deployment`` (and ``kubectl``'s rollout status viewer); the
comments carry worked examples so a reader can follow the numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from .errors import ManifestError

IntOrPercent = Union[int, str]

# Reason strings, spelled exactly as Kubernetes spells them.
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"

_PERCENT = re.compile(r"^[0-9]+%$")


def int_or_percent(value: IntOrPercent, total: int, round_up: bool, field: str = "value") -> int:
    """Resolve ``3`` or ``"25%"`` against ``total`` (``GetScaledValueFromIntOrPercent``).

    >>> int_or_percent("25%", 10, round_up=True)   # 2.5 rounds up
    3
    >>> int_or_percent("25%", 10, round_up=False)  # 2.5 rounds down
    2
    """
    if isinstance(value, bool):
        raise ManifestError(f"{field}: Invalid value: {value!r}: must be an integer or a percentage")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _PERCENT.match(value):
        scaled = int(value[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    raise ManifestError(
        f"{field}: Invalid value: {value!r}: a valid percent string must be a numeric string "
        f"followed by an ending '%' (e.g. '1%' or '93%')")


def resolve_fenceposts(max_surge: IntOrPercent, max_unavailable: IntOrPercent,
                       replicas: int) -> tuple[int, int]:
    """``ResolveFenceposts``: surge rounds up, unavailable rounds down, never both zero.

    Rounding in opposite directions keeps a rollout able to move: with 10
    replicas and 39 % for both, surge = ceil(3.9) = 4 but unavailable =
    floor(3.9) = 3.  If both come out 0 (1 replica, 25 %/25 % → 1/0 is fine,
    but 0 %/0 % of anything, or 1 replica with maxSurge "0%" and
    maxUnavailable "25%"), the controller could never do anything, so
    unavailable becomes 1.

    >>> resolve_fenceposts("39%", "39%", 10)
    (4, 3)
    >>> resolve_fenceposts("0%", "25%", 1)
    (0, 1)
    """
    surge = int_or_percent(max_surge, replicas, round_up=True, field="maxSurge")
    unavailable = int_or_percent(max_unavailable, replicas, round_up=False, field="maxUnavailable")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


@dataclass
class RSView:
    """What the controller knows of one ReplicaSet when it syncs."""

    name: str
    spec: int                   # spec.replicas
    available: int = 0          # status.availableReplicas (as last reported)
    created: float = 0.0        # creationTimestamp; ties broken by name
    max_replicas: Optional[int] = None   # deployment.kubernetes.io/max-replicas annotation

    def order(self) -> tuple:
        return (self.created, self.name)


def new_rs_new_replicas(replicas: int, max_surge: int, all_rs: Sequence[RSView],
                        new_rs: RSView) -> int:
    """How big the new ReplicaSet may become now (``NewRSNewReplicas``, RollingUpdate).

    The budget is replicas + maxSurge pods *as counted by spec.replicas* of
    every ReplicaSet, so a pod that is terminating no longer counts.  Example:
    4 replicas, maxSurge 1, old RS at 4, new at 0: maxTotal 5, current 4, so
    the new RS may grow by min(5 − 4, 4 − 0) = 1.
    """
    current = sum(rs.spec for rs in all_rs)
    max_total = replicas + max_surge
    if current >= max_total:
        return new_rs.spec
    scale_up = min(max_total - current, replicas - new_rs.spec)
    return new_rs.spec + scale_up


def max_scaled_down(replicas: int, max_unavailable: int, all_rs: Sequence[RSView],
                    new_rs: Optional[RSView]) -> int:
    """How many old pods may go now (``reconcileOldReplicaSets``).

    minAvailable = replicas − maxUnavailable.  Pods of the new RS that are not
    available yet count against the budget: they are pods, but they serve
    nobody.  Example: 4 replicas, maxUnavailable 0, old 4 + new 1 (not ready):
    5 − 4 − 1 = 0, nothing may go until the new pod is available.
    """
    all_pods = sum(rs.spec for rs in all_rs)
    min_available = replicas - max_unavailable
    new_unavailable = (new_rs.spec - new_rs.available) if new_rs else 0
    return all_pods - min_available - new_unavailable


def cleanup_unhealthy_replicas(old_rs: Sequence[RSView], max_cleanup: int) -> dict[str, int]:
    """Scale down old ReplicaSets' *unavailable* pods first, oldest RS first.

    Removing a pod that serves nobody costs no availability, so the controller
    spends its budget there before touching healthy pods.  Returns
    {rs name: new spec.replicas} for the ones it changes.
    """
    changes: dict[str, int] = {}
    total = 0
    for rs in sorted(old_rs, key=RSView.order):
        if total >= max_cleanup:
            break
        if rs.spec == 0 or rs.spec == rs.available:
            continue
        count = min(max_cleanup - total, rs.spec - rs.available)
        changes[rs.name] = rs.spec - count
        total += count
    return changes


def scale_down_old_for_rolling(replicas: int, max_unavailable: int, all_rs: Sequence[RSView],
                               old_rs: Sequence[RSView]) -> dict[str, int]:
    """Scale down available old pods within the budget Σavailable − minAvailable, oldest first.

    Example: 10 replicas, maxUnavailable 2, old RS at 10 (all available), new
    RS at 3 (none available): 10 − 8 = 2 old pods may go, so old 10 → 8.
    """
    min_available = replicas - max_unavailable
    available = sum(rs.available for rs in all_rs)
    if available <= min_available:
        return {}
    budget = available - min_available
    changes: dict[str, int] = {}
    total = 0
    for rs in sorted(old_rs, key=RSView.order):
        if total >= budget:
            break
        if rs.spec == 0:
            continue
        count = min(rs.spec, budget - total)
        changes[rs.name] = rs.spec - count
        total += count
    return changes


def proportional_sizes(replicas: int, max_surge: int, active_rs: Sequence[RSView],
                       status_replicas: int) -> dict[str, int]:
    """Spread a change of spec.replicas over the active ReplicaSets (``scale``).

    Each RS grows by its share of the new maximum: spec × (replicas + surge)
    / (max-replicas annotation), rounded half away from zero, capped so the
    total never passes the allowed size; leftovers go to the largest RS.
    The documented example: 10 → 15 replicas with maxSurge 3 mid-rollout,
    old RS 8 and new RS 5 (max-replicas 13): allowed 18, old 8 × 18/13 =
    11.08 → 11, new 5 × 18/13 = 6.92 → 7.

    >>> proportional_sizes(15, 3, [RSView("old", 8, created=0, max_replicas=13),
    ...                            RSView("new", 5, created=1, max_replicas=13)], 13)
    {'old': 11, 'new': 7}
    """
    total = sum(rs.spec for rs in active_rs)
    allowed = replicas + max_surge if replicas > 0 else 0
    to_add = allowed - total
    if to_add > 0:   # bigger first; equal size: newer first when growing
        ordered = sorted(active_rs, key=lambda rs: (-rs.spec, -rs.created, rs.name))
    else:            # bigger first; equal size: older first when shrinking
        ordered = sorted(active_rs, key=lambda rs: (-rs.spec, rs.created, rs.name))
    sizes = {rs.name: rs.spec for rs in ordered}
    if to_add == 0:
        return sizes
    added = 0
    for rs in ordered:
        share = _proportion(rs, replicas, max_surge, to_add, added, status_replicas)
        sizes[rs.name] = rs.spec + share
        added += share
    first = ordered[0].name
    sizes[first] = max(0, sizes[first] + to_add - added)
    return sizes


def _proportion(rs: RSView, replicas: int, max_surge: int, to_add: int, added: int,
                status_replicas: int) -> int:
    """``GetReplicaSetProportion`` with ``getReplicaSetFraction``."""
    if rs.spec == 0 or to_add == added:
        return 0
    if replicas == 0:
        fraction = -rs.spec
    else:
        before = rs.max_replicas or status_replicas
        new_size = rs.spec * (replicas + max_surge) / before if before else rs.spec
        fraction = _round_half_away(new_size) - rs.spec
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def deployment_complete(replicas: int, status: dict, generation: int) -> bool:
    """``DeploymentComplete``: every replica updated and available, no old pod left."""
    return (status.get("updatedReplicas", 0) == replicas
            and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
            and status.get("observedGeneration", 0) >= generation)


def deployment_progressing(old: dict, new: dict) -> bool:
    """``DeploymentProgressing``: did this sync move the rollout forward at all?

    Any of: more pods updated, fewer old pods, more ready, more available.
    The progress deadline counts from the last time this was true.
    """
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return (new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
            or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def condition(obj: dict, ctype: str) -> Optional[dict]:
    for cond in obj.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == ctype:
            return cond
    return None


def rollout_status(deployment: dict) -> tuple[str, bool, bool]:
    """What ``kubectl rollout status`` would print now: (message, done, failed).

    Reads only the Deployment dict, so it works on both backends.
    """
    name = deployment["metadata"]["name"]
    spec = deployment.get("spec", {})
    status = deployment.get("status", {}) or {}
    generation = deployment["metadata"].get("generation", 0)
    if generation > status.get("observedGeneration", 0):
        return "Waiting for deployment spec update to be observed...", False, False
    progressing = condition(deployment, "Progressing")
    if progressing and progressing.get("reason") == TIMED_OUT:
        return f'deployment "{name}" exceeded its progress deadline', False, True
    replicas = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0) or 0
    total = status.get("replicas", 0) or 0
    available = status.get("availableReplicas", 0) or 0
    if updated < replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {updated} out of '
                f'{replicas} new replicas have been updated...'), False, False
    if total > updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {total - updated} old '
                f'replicas are pending termination...'), False, False
    if available < updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {available} of '
                f'{updated} updated replicas are available...'), False, False
    return f'deployment "{name}" successfully rolled out', True, False
