"""A plain Deployment rollout with the same gate: the comparison's baseline."""

from __future__ import annotations

from typing import Optional

from .. import _args
from .._judgement import Judgement, sample_of
from ..rollout import rollout_status
from ._gates import (
    Analysis,
    StrategyResult,
    _analysis,
    _answered_by,
    _deployment_of,
    _finish,
    _observe,
    _say,
    _wait_rollout,
)
from ._steps import PROMOTED, ROLLED_BACK

# --------------------------------------------------------------------------- rolling

@_args.checked_call
def rolling(lab, name: str, image: str, *, analysis: Optional[Analysis] = None,
            observe_s: float = 30.0, baseline_s: float = 30.0,
            timeout: Optional[float] = None) -> StrategyResult:
    """A plain Deployment rolling update, judged by the same analysis; ``rollout undo`` on failure.

    Kubernetes itself never rolls back: this is the gate a pipeline would add
    around ``kubectl set image`` + ``kubectl rollout status``.  The new version
    (pods created after the change) is compared with the old one (pods that
    existed before, over the last ``baseline_s`` seconds), during the rollout
    and for ``observe_s`` after it.
    """
    _args.name("rolling", name)
    _args.text("rolling", "image", image, "'releaselab/web:3.1'")
    _analysis("rolling", "analysis", analysis)
    _args.seconds("rolling", "observe_s", observe_s)
    _args.seconds("rolling", "baseline_s", baseline_s, low_open=True)
    if timeout is not None:
        _args.seconds("rolling", "timeout", timeout, low_open=True)
    started = lab.now()
    old_pods = {p.name for p in lab.timeline.pods_of(name)}
    result = StrategyResult("rolling", PROMOTED, "", started, started, analysis=analysis)

    def is_new(q) -> bool:
        return q.pod is not None and _deployment_of(lab, q.pod) == name and q.pod not in old_pods

    def measure() -> Judgement:
        now = lab.now()
        new = [q for q in _answered_by(lab, started, now, {name}) if q.pod not in old_pods]
        base = [q for q in _answered_by(lab, started - baseline_s, now, {name})
                if q.pod in old_pods]
        return analysis.judge(sample_of(new), sample_of(base), ("new pods", "old pods"))

    _say(lab, f"rolling: {name} → {image}", f"set image {image.rsplit(':', 1)[-1]}",
         "rollout-start")
    lab.set_image(name, image)
    state = {"measurements": result.measurements, "failures": 0, "step_verdicts": []}
    failing = None
    if analysis is not None:
        deadline = lab.now() + (timeout or 600.0)

        def done() -> bool:
            _, complete, stuck = rollout_status(lab.get("Deployment", name))
            return complete or stuck

        while not done() and lab.now() < deadline and failing is None:
            failing = _observe(lab, analysis.interval_s, analysis, measure, state)
        if failing is None:
            _say(lab, f"rolling: {name} rolled out; watching {observe_s:g} s more")
            failing = _observe(lab, observe_s, analysis, measure, state)
    else:
        _wait_rollout(lab, name, timeout)
    if failing is not None:
        result.status, result.decided_at = ROLLED_BACK, lab.now()
        result.reason = f"analysis failed: {failing.reason}"
        _say(lab, f"rolling: rollout undo {name}", "rollout undo", "rollback")
        lab.rollout_undo(name)
        _wait_rollout(lab, name, timeout)
        lab.wait_settled(name)       # the bad pods serve until their preStop sleep ends
    else:
        result.reason = "rollout complete" + (", analysis passed" if analysis else "")
        _say(lab, f"rolling: {result.reason}", "rollout complete", "rollout-end")
    return _finish(result, lab, is_new)


