"""Release procedures with gates and automatic rollback: rolling, blue-green, canary.

Written only against :class:`~releaselab.lab.Lab`, so they run unchanged on the
simulator and on a kind cluster: a pause is ``lab.wait(seconds)``, a switch is
``lab.apply`` of a Service or HTTPRoute, and a gate reads the requests
``lab.timeline`` recorded.  They generate no user traffic of their own (run
them inside ``with lab.traffic(...)``), except blue-green's smoke test of the
preview Service.

What each one borrows from Argo Rollouts and Flagger:

============================  ===========================================================
here                          Argo Rollouts / Flagger
============================  ===========================================================
``set_weight(5)``             ``steps: - setWeight: 5``
``pause(30)`` / ``pause()``   ``- pause: {duration: 30}`` / ``- pause: {}`` (wait for a human)
``Analysis(interval_s=...)``  AnalysisTemplate metric ``interval``; Flagger ``analysis.interval``
``failure_limit``             ``failureLimit`` (Flagger ``threshold`` = failure_limit + 1)
``min_requests``              the minimum sample below which a measurement is inconclusive
``routing="replicas"``        basic canary without trafficRouting (weight ≈ replica share)
``max_surge``                 the Rollout's ``maxSurge`` (one extra pod may bring the share closer)
``routing="gateway"``         ``trafficRouting`` (Gateway API plugin; Flagger's provider)
``scale_down_delay_s=30``     ``scaleDownDelaySeconds`` (default 30)
``abort_scale_down_delay_s``  ``abortScaleDownDelaySeconds`` (default 30)
``pre_promotion``             blue-green ``prePromotionAnalysis`` (fail: abort, no switch)
``post_promotion``            blue-green ``postPromotionAnalysis`` (fail: switch back)
============================  ===========================================================

Every step prints one line (``[  12.3 s] canary 2/12: weight 5 % ...``) and
puts a mark on the Timeline, so ``run.plot()`` shows where it happened.  Each
procedure returns a :class:`StrategyResult`: promoted, rolled back, aborted or
paused; at which step; why; the requests the new version answered, and how
many failed.
"""

from ._bluegreen import blue_green
from ._canary import canary
from ._gates import Analysis, Measurement, StrategyResult
from ._rolling import rolling
from ._steps import (
                     ABORTED,
                     PAUSED,
                     PROMOTED,
                     ROLLED_BACK,
                     SEED_WEIGHTS,
                     SETTLE_S,
                     Pause,
                     SetWeight,
                     effective_weight,
                     flagger_steps,
                     min_promotion_seconds,
                     pause,
                     replicas_for_traffic_weight,
                     replicas_for_weight,
                     set_weight,
                     steps_for,
)

from .. import _args as _a

# A wrong argument name or count is one UsageError line that lists the arguments, not
# Python's TypeError (blue_green, canary, rolling and Analysis check their own calls).
(set_weight, pause, steps_for, flagger_steps, replicas_for_weight, replicas_for_traffic_weight,
 effective_weight, min_promotion_seconds) = map(_a.checked_call, (
    set_weight, pause, steps_for, flagger_steps, replicas_for_weight,
    replicas_for_traffic_weight, effective_weight, min_promotion_seconds))

__all__ = [
    "SetWeight", "Pause", "set_weight", "pause", "steps_for", "flagger_steps",
    "Analysis", "Measurement", "StrategyResult",
    "replicas_for_weight", "replicas_for_traffic_weight", "effective_weight", "min_promotion_seconds",
    "rolling", "blue_green", "canary",
    "PROMOTED", "ROLLED_BACK", "ABORTED", "PAUSED", "SEED_WEIGHTS", "SETTLE_S",
]
