"""Canary steps (setWeight, pause) and the arithmetic of weights and replicas."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ..errors import UsageError

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
    if seconds is not None and (not isinstance(seconds, (int, float)) or seconds < 0):
        raise UsageError(f"pause({seconds!r}): seconds must be a number >= 0, or nothing to "
                         "wait for a manual promotion")
    return Pause(seconds)


Step = Union[SetWeight, Pause]


def steps_for(weights: Sequence[int], pause_s: float) -> list:
    """The plan "set each weight, then pause": the seed's 5, 10, 25, 50, 75, 100 %.

    >>> steps_for([5, 10], 30)
    [SetWeight(weight=5), Pause(seconds=30), SetWeight(weight=10), Pause(seconds=30)]
    """
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
    if step_weight <= 0 or not 0 < max_weight <= 100:
        raise UsageError("flagger_steps: step_weight > 0 and 0 < max_weight <= 100")
    weights = list(range(step_weight, max_weight + 1, step_weight))
    return steps_for(weights, interval_s)


def _normalise(steps) -> list:
    """Our step objects, or Argo-shaped dicts: {"setWeight": 5}, {"pause": {"duration": 10}}."""
    out = []
    for i, s in enumerate(steps):
        if isinstance(s, (SetWeight, Pause)):
            out.append(s)
        elif isinstance(s, dict) and "setWeight" in s:
            out.append(set_weight(s["setWeight"]))
        elif isinstance(s, dict) and "pause" in s:
            duration = (s["pause"] or {}).get("duration")
            out.append(pause(duration))
        else:
            raise UsageError(f"steps[{i}] = {s!r}: use set_weight(w), pause(seconds), "
                             "{'setWeight': w} or {'pause': {'duration': s}}")
    return out


# --------------------------------------------------------------------------- arithmetic

def replicas_for_weight(weight: int, replicas: int) -> tuple[int, int]:
    """(canary, stable) pods approximating ``weight`` % without traffic routing.

    Argo Rollouts' basic canary rounds the canary **up** and gives the stable
    the rest; a weight strictly between 0 and 100 keeps at least one of each:

    >>> replicas_for_weight(15, 10)     # 1.5 pods -> 2
    (2, 8)
    >>> replicas_for_weight(5, 10)      # 0.5 -> 1: 10 % of the pods, not 5 %
    (1, 9)
    >>> replicas_for_weight(5, 20)
    (1, 19)
    >>> replicas_for_weight(99, 10)     # 9.9 -> 10, but one stable pod stays
    (10, 1)
    >>> replicas_for_weight(0, 10), replicas_for_weight(100, 10)
    ((0, 10), (10, 0))
    """
    if not isinstance(replicas, int) or replicas < 1:
        raise UsageError(f"replicas={replicas!r}: need at least 1")
    if not 0 <= weight <= 100:
        raise UsageError(f"weight={weight!r}: a percentage 0-100")
    canary = math.ceil(replicas * weight / 100 - 1e-9)
    stable = replicas - canary
    if 0 < weight < 100:
        stable = max(stable, 1)
    return canary, stable


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


