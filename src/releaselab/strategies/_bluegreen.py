"""Blue-green: deploy the idle colour, test it on the preview, switch, watch, scale down."""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from .. import _args
from .._judgement import Judgement, sample_of
from ..errors import UsageError
from ._gates import (
    Analysis,
    StrategyResult,
    _analysis,
    _answered_by,
    _deployment_of,
    _finish,
    _observe,
    _replicas,
    _say,
    _set_selector,
    _wait_available,
)
from ._steps import ABORTED, PAUSED, PROMOTED, ROLLED_BACK, SETTLE_S

# --------------------------------------------------------------------------- blue-green

@_args.checked_call
def blue_green(lab, image: str, *, active_service: str = "web",
               preview_service: Optional[str] = "web-preview",
               deployments: Sequence[str] = ("web-blue", "web-green"), label: str = "color",
               pre_promotion: "Analysis | Callable | None" = None, smoke_rps: float = 20,
               smoke_s: float = 10.0, post_promotion: Optional[Analysis] = None,
               post_promotion_s: float = 30.0, scale_down_delay_s: float = 30.0,
               available_timeout_s: float = 120.0) -> StrategyResult:
    """Deploy ``image`` to the idle colour, gate it, switch the active Service, keep the old colour
    ``scale_down_delay_s``, then scale it down.

    1. the idle colour (the Deployment the active Service does not select) gets
       ``image`` and as many replicas as the active one — twice the pods;
    2. wait until it is available; if it is not (no room: pods Pending), abort;
    3. point ``preview_service`` at it; ``pre_promotion`` (an :class:`Analysis`
       run on smoke traffic of ``smoke_rps`` for ``smoke_s`` s against the
       preview Service, compared with the users' requests to the active one;
       or any callable ``gate(lab) -> bool``) — a failure aborts, no user saw it;
    4. switch: the active Service's selector ``label`` becomes the idle colour;
    5. ``post_promotion``: judge the users' requests the new colour answers for
       ``post_promotion_s`` against the old colour's before the switch; a
       failure switches back (the old colour is still running);
    6. after ``scale_down_delay_s`` from the switch (Argo's
       scaleDownDelaySeconds, default 30: every kube-proxy and gateway must
       have dropped the old endpoints and in-flight requests must finish
       before its pods are told to stop), scale the old colour to 0.
    """
    _args.text("blue_green", "image", image, "'releaselab/web:1.1'")
    if pre_promotion is not None and not isinstance(pre_promotion, Analysis) \
            and not callable(pre_promotion):
        raise UsageError(f"blue_green(pre_promotion={pre_promotion!r}): expected an "
                         "Analysis(...) run on the preview, a function gate(lab) -> bool, or "
                         "None")
    _analysis("blue_green", "post_promotion", post_promotion)
    _args.rate("blue_green", smoke_rps)
    for param, value, low_open in (("smoke_s", smoke_s, True),
                                   ("post_promotion_s", post_promotion_s, True),
                                   ("scale_down_delay_s", scale_down_delay_s, False),
                                   ("available_timeout_s", available_timeout_s, True)):
        _args.seconds("blue_green", param, value, low_open=low_open)
    if isinstance(deployments, str) or not isinstance(deployments, (list, tuple)) or \
            len(deployments) != 2 or not all(isinstance(d, str) for d in deployments):
        raise UsageError("deployments: name the two colours' Deployments, e.g. "
                         "('web-blue', 'web-green')")
    started = lab.now()
    colour = {}
    for name in deployments:
        labels = lab.get("Deployment", name)["spec"]["template"]["metadata"].get("labels", {})
        if label not in labels:
            raise UsageError(f"Deployment {name} has no pod label {label!r}: blue-green needs "
                             "each colour's pods labelled, e.g. color: blue")
        colour[name] = labels[label]
    active_colour = lab.get("Service", active_service)["spec"].get("selector", {}).get(label)
    by_colour = {v: k for k, v in colour.items()}
    if active_colour not in by_colour:
        raise UsageError(f"Service {active_service} selects {label}={active_colour!r}, which is "
                         f"neither of {dict(colour)}")
    old = by_colour[active_colour]
    new = next(n for n in deployments if n != old)
    replicas = _replicas(lab, old)
    result = StrategyResult("blue-green", PROMOTED, "", started, started,
                            analysis=pre_promotion if isinstance(pre_promotion, Analysis)
                            else post_promotion)
    new_pods_before = {p.name for p in lab.timeline.pods_of(new)}

    def is_new(q) -> bool:
        return (q.pod is not None and q.pod not in new_pods_before
                and _deployment_of(lab, q.pod) == new)

    version = image.rsplit(":", 1)[-1]
    _say(lab, f"blue-green: {active_service} → {old} ({active_colour}); deploying {version} to "
         f"{new} ({colour[new]}) with {replicas} replicas",
         f"deploy {colour[new]} {version}", "rollout-start")
    lab.set_image(new, image)
    if _replicas(lab, new) != replicas:
        lab.scale(new, replicas)
    problem = _wait_available(lab, new, available_timeout_s)
    if problem is not None:
        return _abort_bg(lab, result, new, problem, is_new, active_service)
    _say(lab, f"blue-green: {new} available ({replicas} pods; {2 * replicas} in all)")
    if preview_service is not None:
        preview_selector = lab.get("Service", preview_service)["spec"].get("selector", {})
        if preview_selector.get(label) != colour[new]:
            _set_selector(lab, preview_service, label, colour[new])
            lab.wait(SETTLE_S)
    state = {"measurements": result.measurements, "failures": 0, "step_verdicts": []}

    # -- pre-promotion gate ------------------------------------------------------------
    if pre_promotion is not None:
        if isinstance(pre_promotion, Analysis):
            if preview_service is None:
                raise UsageError("pre_promotion analysis needs a preview_service to test")
            gate_start = lab.now()

            def measure_preview() -> Judgement:
                now = lab.now()
                smoke = _answered_by(lab, gate_start, now, {new}, target=preview_service)
                users = _answered_by(lab, gate_start, now, {old}, target=active_service)
                return pre_promotion.judge(sample_of(smoke), sample_of(users),
                                           (f"{colour[new]} (preview)", active_colour))

            _say(lab, f"blue-green: pre-promotion analysis, {smoke_rps:g} req/s to "
                 f"{preview_service} for {smoke_s:g} s", "pre-promotion analysis", "gate")
            with lab.traffic(rps=smoke_rps, target=preview_service):
                failing = _observe(lab, smoke_s, pre_promotion, measure_preview, state,
                                   label="pre-promotion")
            last = result.measurements[-1].judgement if result.measurements else None
            if failing is None and last is not None and last.inconclusive:
                failing = last
            if failing is not None:
                return _abort_bg(lab, result, new, f"pre-promotion analysis: {failing}", is_new,
                                 active_service)
            _say(lab, f"blue-green: pre-promotion passed: {last.reason}")
        else:
            verdict = pre_promotion(lab)
            if not verdict:
                return _abort_bg(lab, result, new, f"pre-promotion gate: {verdict}", is_new,
                                 active_service)
            _say(lab, f"blue-green: pre-promotion gate passed: {verdict}")

    # -- the switch ------------------------------------------------------------------------
    _set_selector(lab, active_service, label, colour[new])
    switched = lab.now()
    _say(lab, f"blue-green: switch {active_service} → {new} ({colour[new]})",
         f"switch → {colour[new]}", "step")

    if post_promotion is not None:
        lab.wait(SETTLE_S)

        def measure_live() -> Judgement:
            now = lab.now()
            fresh = [q for q in _answered_by(lab, switched, now, {new}, target=active_service)]
            base = _answered_by(lab, switched - post_promotion_s, switched, {old},
                                target=active_service)
            return post_promotion.judge(sample_of(fresh), sample_of(base),
                                        (colour[new], f"{active_colour} before the switch"))

        failing = _observe(lab, post_promotion_s, post_promotion, measure_live, state,
                           label="post-promotion")
        if failing is not None:
            result.status, result.decided_at = ROLLED_BACK, lab.now()
            result.reason = f"post-promotion analysis failed: {failing.reason}; switched back"
            _set_selector(lab, active_service, label, active_colour)
            _say(lab, f"blue-green: switch back {active_service} → {old} ({active_colour})",
                 f"switch back → {active_colour}", "rollback")
            lab.wait(scale_down_delay_s)
            _say(lab, f"blue-green: scale {new} to 0", f"scale {colour[new]} → 0", "step")
            lab.scale(new, 0)
            return _finish(result, lab, is_new, active_service)
        last = result.measurements[-1].judgement if result.measurements else None
        if last is not None and last.inconclusive and post_promotion.inconclusive == "pause":
            result.status = PAUSED
            result.reason = f"post-promotion analysis inconclusive ({last.reason}); {old} kept"
            _say(lab, f"blue-green: paused: {result.reason}", "paused", "gate")
            return _finish(result, lab, is_new, active_service)
        _say(lab, f"blue-green: post-promotion passed: {last.reason if last else ''}")

    # -- scale down the old colour after the delay -----------------------------------
    remaining = max(0.0, scale_down_delay_s - (lab.now() - switched))
    if remaining:
        lab.wait(remaining)
    _say(lab, f"blue-green: scale {old} to 0 ({scale_down_delay_s:g} s after the switch)",
         f"scale {active_colour} → 0", "rollout-end")
    lab.scale(old, 0)
    result.reason = (f"{new} ({colour[new]}) is active" +
                     (", analysis passed" if pre_promotion or post_promotion else ""))
    return _finish(result, lab, is_new, active_service)


def _abort_bg(lab, result: StrategyResult, new: str, reason: str, is_new,
              target: str) -> StrategyResult:
    result.status, result.reason, result.decided_at = ABORTED, reason + "; not switched", lab.now()
    _say(lab, f"blue-green: ABORT: {reason}", "abort", "rollback")
    lab.scale(new, 0)
    return _finish(result, lab, is_new, target)


