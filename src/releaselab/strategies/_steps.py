"""Canary steps (setWeight, pause) and the arithmetic of weights and replicas."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Optional, Sequence, Union

from ..errors import UsageError
from ..rollout import IntOrPercent, int_or_percent

PROMOTED, ROLLED_BACK, ABORTED, PAUSED = "promoted", "rolled_back", "aborted", "paused"

#: After a routing change (Service selector, HTTPRoute weights) the data plane
#: needs time to learn it: 0.30 s for kube-proxy and 0.5 s for the gateway on
#: the simulator's profile.  Measurements start this long after a change, so
#: they judge the new routing, not the old one.
SETTLE_S = 1.0

#: The study notes' canary plan: 5, 10, 25, 50, 75, 100 %.
SEED_WEIGHTS = (5, 10, 25, 50, 75, 100)


# --------------------------------------------------------------------------- steps

@dataclass(frozen=True)
class SetWeight:
    """Send ``weight`` % of the traffic to the canary (Argo ``setWeight``)."""

    weight: int


@dataclass(frozen=True)
class Pause:
    """Stay at the current weight for ``seconds``, analysing; None = until a human promotes."""

    seconds: Optional[float] = None


def set_weight(weight: int) -> SetWeight:
    """A ``setWeight`` step.

    >>> set_weight(25)
    SetWeight(weight=25)
    """
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
        raise UsageError(f"set_weight({weight!r}): a weight is a whole percentage 0-100")
    return SetWeight(weight)


def pause(seconds: Optional[float] = None) -> Pause:
    """A ``pause`` step: ``pause(30)`` waits 30 s; ``pause()`` waits for a human.

    ``pause()`` is Argo's ``pause: {}``.

    >>> pause(30)
    Pause(seconds=30)
    """
    if seconds is not None and (not isinstance(seconds, (int, float)) or isinstance(
            seconds, bool) or not math.isfinite(seconds) or seconds < 0):
        raise UsageError(f"pause({seconds!r}): seconds must be a number >= 0, or nothing to "
                         "wait for a manual promotion")
    return Pause(seconds)


Step = Union[SetWeight, Pause]


def steps_for(weights: Sequence[int], pause_s: float) -> list:
    """The plan "set each weight, then pause": the seed's 5, 10, 25, 50, 75, 100 %.

    >>> steps_for([5, 10], 30)
    [SetWeight(weight=5), Pause(seconds=30), SetWeight(weight=10), Pause(seconds=30)]
    """
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise UsageError(f"steps_for(weights={weights!r}): a list of whole percentages, "
                         "e.g. steps_for([5, 25, 100], 10)")
    out: list = []
    for w in weights:
        out += [set_weight(w), pause(pause_s)]
    return out


def flagger_steps(step_weight: int, max_weight: int, interval_s: float) -> list:
    """Flagger's ``stepWeight`` / ``maxWeight`` / ``interval`` as an explicit plan.

    Flagger raises the weight by ``step_weight`` every ``interval`` up to
    ``max_weight``, then promotes:

    >>> [s.weight for s in flagger_steps(10, 50, 60) if isinstance(s, SetWeight)]
    [10, 20, 30, 40, 50]
    """
    if not all(isinstance(v, int) and not isinstance(v, bool)
               for v in (step_weight, max_weight)) or step_weight <= 0 \
            or not 0 < max_weight <= 100:
        raise UsageError("flagger_steps: step_weight > 0 and 0 < max_weight <= 100")
    weights = list(range(step_weight, max_weight + 1, step_weight))
    return steps_for(weights, interval_s)


def _normalise(steps) -> list:
    """Our step objects, or Argo-shaped dicts: {"setWeight": 5}, {"pause": {"duration": 10}}."""
    if isinstance(steps, (str, bytes, dict)) or not isinstance(steps, Iterable):
        raise UsageError(f"steps={steps!r}: a list of steps, e.g. steps_for([5, 25, 100], 10) "
                         "or [set_weight(100), pause(20)]")
    out = []
    for i, s in enumerate(steps):
        if isinstance(s, (SetWeight, Pause)):
            out.append(s)
        elif isinstance(s, dict) and "setWeight" in s:
            out.append(set_weight(s["setWeight"]))
        elif isinstance(s, dict) and "pause" in s and isinstance(s["pause"] or {}, dict):
            duration = (s["pause"] or {}).get("duration")
            out.append(pause(duration))
        else:
            raise UsageError(f"steps[{i}] = {s!r}: use set_weight(w), pause(seconds), "
                             "{'setWeight': w} or {'pause': {'duration': s}}")
    return out


# --------------------------------------------------------------------------- arithmetic

def replicas_for_weight(weight: int, replicas: int, max_surge: IntOrPercent = 0) -> tuple[int, int]:
    """(canary, stable) pods approximating ``weight`` % without a traffic router.

    Argo Rollouts' basic canary (``approximateWeightedCanaryStableReplicaCounts``
    in utils/replicaset/canary.go, since v1.2): of the candidates ceil and floor
    of ``weight`` × ``replicas`` canary pods, over ``replicas`` pods in all —
    and, when ``maxSurge`` is above 0, over ``replicas`` + 1 pods too — it keeps
    the one whose pod share is *closest* to the weight (the first listed wins a
    tie).  A weight strictly between 0 and 100 never gets 0 canary pods, except
    on a single replica with no surge; an exact half (2.5 pods) rounds up.

    ``max_surge`` is the Rollout's ``maxSurge`` (a count or ``"25%"``, resolved
    against ``replicas`` rounding up, as Argo's ``MaxSurge`` does).  The default 0
    keeps the fleet at ``replicas`` pods; Argo's own default is ``"25%"``.

    With ``maxSurge: 0`` the canary's count is ceil(weight × replicas), the rest
    stable, as long as that leaves a stable pod:

    >>> replicas_for_weight(15, 10)     # 1.5 pods: a tie between 1 and 2 -> 2
    (2, 8)
    >>> replicas_for_weight(5, 10)      # 0.5 -> 1: 10 % of the pods, not 5 %
    (1, 9)
    >>> replicas_for_weight(99, 10)     # 10 canary pods would leave no stable: 9 + 1
    (9, 1)

    One extra pod within ``maxSurge`` can come closer to the weight — upstream's
    unit test: 10 replicas, maxSurge 1, weight 25 gives 3 + 8 (27.3 %, against
    30 % for 3 + 7 and 20 % for 2 + 8):

    >>> replicas_for_weight(25, 10, max_surge=1)
    (3, 8)
    >>> replicas_for_weight(25, 10, max_surge="25%")
    (3, 8)
    >>> replicas_for_weight(0, 10), replicas_for_weight(100, 10, max_surge=1)
    ((0, 10), (10, 0))

    Upstream has one corner this follows too: when ceil would leave no stable pod
    and floor is exactly as far from the weight, no candidate is left and the
    canary gets none (2 replicas at 75 %, no surge); one pod of surge avoids it:

    >>> replicas_for_weight(75, 2), replicas_for_weight(75, 2, max_surge=1)
    ((0, 2), (2, 1))
    """
    _check_weight_replicas(weight, replicas)
    surge = _max_surge(max_surge, replicas)
    if replicas == 0:
        return 0, 0
    # Upstream's arithmetic, float64 where it uses float64 (Python floats are the same).
    ceil_count = math.ceil(replicas * weight / 100.0)
    floor_count = math.floor(replicas * weight / 100.0)
    zero_allowed = weight in (0, 100) or (replicas == 1 and surge == 0)
    options: list[tuple[int, int]] = []          # (canary, total)
    if ceil_count < replicas or zero_allowed:
        options.append((ceil_count, replicas))
    if not _floor_ceiling_tied(weight, replicas) and (floor_count != 0 or zero_allowed):
        options.append((floor_count, replicas))
    if surge > 0:
        options.append((ceil_count, replicas + 1))
        if not _floor_ceiling_tied(weight, replicas + 1) and (floor_count != 0 or zero_allowed):
            options.append((floor_count, replicas + 1))
    if not options:
        # Upstream's fallback ("should not get here"), reached when the ceiling would leave no
        # stable pod and the floor is tied with it: 2 replicas at 75 % (1.5 pods), no surge.
        return 0, replicas
    best = options[0]
    for option in options[1:]:
        if _weight_delta(weight, *option) < _weight_delta(weight, *best):
            best = option
    canary, total = best
    return canary, total - canary


def replicas_for_traffic_weight(weight: int, replicas: int) -> int:
    """Canary pods for ``weight`` % when a traffic router splits by weight.

    Argo Rollouts' ``trafficWeightToReplicas``: ceil(weight × replicas / 100),
    while the stable keeps all its replicas (the router, not the pods, decides
    the share):

    >>> [replicas_for_traffic_weight(w, 10) for w in (0, 20, 25, 33, 99, 100)]
    [0, 2, 3, 4, 10, 10]
    """
    _check_weight_replicas(weight, replicas)
    return math.ceil(replicas * weight / 100.0)


def _check_weight_replicas(weight, replicas) -> None:
    for name, value in (("weight", weight), ("replicas", replicas)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"{name}={value!r}: a whole number")
    if not 0 <= weight <= 100:
        raise UsageError(f"weight={weight!r}: a percentage 0-100")
    if replicas < 0:
        raise UsageError(f"replicas={replicas!r}: 0 or more")


def _max_surge(max_surge: IntOrPercent, replicas: int) -> int:
    if isinstance(max_surge, bool) or not (
            (isinstance(max_surge, int) and max_surge >= 0)
            or (isinstance(max_surge, str) and re.fullmatch(r"[0-9]+%", max_surge))):
        raise UsageError(f"max_surge={max_surge!r}: a pod count >= 0 or a percentage like '25%'")
    return int_or_percent(max_surge, replicas, round_up=True, field="maxSurge")


def _floor_ceiling_tied(weight: int, total: int) -> bool:
    """``floorCeilingTied``: 3 pods at 50 % -> 1.5, equally far from 1 and 2."""
    return math.modf(total * (weight / 100))[0] == 0.5


def _weight_delta(weight: int, canary: int, total: int) -> float:
    """``weightDelta``: how far ``canary`` of ``total`` pods is from ``weight`` %."""
    return abs(canary * 100 / total - weight)


def effective_weight(canary: int, stable: int) -> float:
    """The traffic share (%) the canary really gets when kube-proxy spreads over pods evenly.

    >>> effective_weight(1, 9)
    10.0
    >>> round(effective_weight(10, 1), 1)
    90.9
    """
    total = canary + stable
    return 100.0 * canary / total if total else 0.0


def min_promotion_seconds(steps) -> float:
    """Shortest time a plan takes to promote: the sum of its pauses.

    Flagger's "interval × maxWeight / stepWeight" is the same sum:

    >>> min_promotion_seconds(flagger_steps(10, 50, 60))
    300.0
    """
    total = 0.0
    for s in _normalise(steps):
        if isinstance(s, Pause):
            if s.seconds is None:
                return math.inf
            total += s.seconds
    return total


