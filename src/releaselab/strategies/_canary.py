"""Canary by gateway weights or by replica ratio, with steps, gates and automatic rollback."""

from __future__ import annotations

from typing import Optional

from .. import _args
from .._plural import plural
from .._judgement import INCONCLUSIVE, Judgement, sample_of
from ..errors import UsageError
from ._gates import (
    Analysis,
    StrategyResult,
    _analysis,
    _answered_by,
    _clean,
    _deployment_of,
    _finish,
    _observe,
    _replicas,
    _say,
    _wait_available,
)
from ._steps import (
    PAUSED,
    PROMOTED,
    ROLLED_BACK,
    SEED_WEIGHTS,
    SETTLE_S,
    SetWeight,
    _normalise,
    effective_weight,
    replicas_for_traffic_weight,
    replicas_for_weight,
    steps_for,
)

# --------------------------------------------------------------------------- canary

@_args.checked_call
def canary(lab, image: str, *, steps=None, analysis: Optional[Analysis] = None,
           routing: str = "gateway", stable: str = "web-stable", canary: str = "web-canary",
           route: str = "web", stable_service: str = "web-stable",
           canary_service: str = "web-canary", canary_replicas: Optional[int] = None,
           max_surge=0,
           scale_down_delay_s: float = 30.0, abort_scale_down_delay_s: float = 30.0,
           available_timeout_s: float = 120.0) -> StrategyResult:
    """Release ``image`` through the canary Deployment step by step; roll back when analysis fails.

    ``steps``      a plan of :func:`set_weight` and :func:`pause` (or Argo-shaped
                   dicts); default: the seed's 5, 10, 25, 50, 75, 100 % with 15 s pauses;
    ``analysis``   judged every ``interval_s`` during each pause: the canary's
                   requests since the step's weight took effect against the
                   stable's over the same window (or, when the stable got fewer
                   than ``min_requests`` there — at 100 % it gets none — against
                   the stable's since the release began);
    ``routing``    ``"gateway"``: HTTPRoute ``route``'s backendRefs ``stable_service``
                   / ``canary_service`` get weights 100 − w / w; the canary runs
                   ceil(w × N / 100) pods (:func:`replicas_for_traffic_weight`, or
                   ``canary_replicas``), the stable stays at N;
                   ``"replicas"``: one Service over both tracks, the weight is
                   approximated by pod counts (:func:`replicas_for_weight`: the
                   counts closest to the weight, N pods in all, or N + 1 when
                   ``max_surge`` — the Rollout's ``maxSurge`` — is above 0).

    On failure: weight → 0 (the route sends nothing to the canary, or its pods
    are scaled away) and the canary is scaled to 0 (after
    ``abort_scale_down_delay_s`` with a gateway).  After the last step the
    stable Deployment gets ``image`` (a rolling update with the traffic on the
    canary), traffic returns to it, and the canary is scaled to 0.
    """
    if routing not in ("gateway", "replicas"):
        raise UsageError(f"routing={routing!r}: 'gateway' (weighted HTTPRoute) or 'replicas' "
                         "(weight approximated by pod counts)")
    _args.text("canary", "image", image, "'releaselab/web:2.1'")
    _analysis("canary", "analysis", analysis)
    for param, value, low_open in (("scale_down_delay_s", scale_down_delay_s, False),
                                   ("abort_scale_down_delay_s", abort_scale_down_delay_s, False),
                                   ("available_timeout_s", available_timeout_s, True)):
        _args.seconds("canary", param, value, low_open=low_open)
    if canary_replicas is not None:
        _args.whole("canary", "canary_replicas", canary_replicas, low=0,
                    high=_args.MAX_REPLICAS, what="the canary's pods at every weight")
    plan = _normalise(steps if steps is not None else steps_for(SEED_WEIGHTS, 15))
    replicas_for_weight(0, 1, max_surge)            # a bad max_surge fails here, not mid-release
    if not plan:
        raise UsageError("steps: the plan is empty; e.g. steps_for([5, 25, 50, 100], 30)")
    started = lab.now()
    total = _replicas(lab, stable)
    if total < 1:
        raise UsageError(f"Deployment {stable} has 0 replicas: the stable track must be running")
    canary_pods_before = {p.name for p in lab.timeline.pods_of(canary)}
    result = StrategyResult("canary", PROMOTED, "", started, started, steps=len(plan), weight=0,
                            analysis=analysis, plan=tuple(plan))
    state = {"measurements": result.measurements, "failures": 0, "step_verdicts": []}

    def is_new(q) -> bool:
        return (q.pod is not None and q.pod not in canary_pods_before
                and _deployment_of(lab, q.pod) == canary)

    def set_route(w: int) -> None:
        obj = _clean(lab.get("HTTPRoute", route))
        spec = obj["spec"] = {**obj["spec"]}
        rules = [dict(r) for r in spec["rules"]]
        refs = [dict(ref) for ref in rules[0]["backendRefs"]]
        names = {ref["name"] for ref in refs}
        if not {stable_service, canary_service} <= names:
            raise UsageError(f"HTTPRoute {route} has backendRefs {sorted(names)}; it needs "
                             f"{stable_service} and {canary_service}")
        for ref in refs:
            if ref["name"] == stable_service:
                ref["weight"] = 100 - w
            elif ref["name"] == canary_service:
                ref["weight"] = w
        rules[0]["backendRefs"] = refs
        spec["rules"] = rules
        lab.apply(obj)

    version = image.rsplit(":", 1)[-1]
    _say(lab, f"canary: {version} via {canary}, {plural(len(plan), 'step')}, routing by "
         f"{'HTTPRoute ' + route if routing == 'gateway' else 'replica counts'}",
         f"canary {version}", "rollout-start")
    lab.set_image(canary, image)

    def apply_weight(w: int) -> Optional[str]:
        if routing == "replicas":
            c, s = replicas_for_weight(w, total, max_surge)
            if c > _replicas(lab, canary):
                lab.scale(canary, c)
                problem = _wait_available(lab, canary, available_timeout_s)
                if problem:
                    return problem
            if s != _replicas(lab, stable):
                lab.scale(stable, s)
            if c < _replicas(lab, canary):
                lab.scale(canary, c)
            return None
        c = canary_replicas if canary_replicas is not None else \
            replicas_for_traffic_weight(w, total)
        if c != _replicas(lab, canary):
            lab.scale(canary, c)
            problem = _wait_available(lab, canary, available_timeout_s)
            if problem:
                return problem
        set_route(w)
        return None

    current = 0
    for index, step in enumerate(plan, start=1):
        result.step = index
        if isinstance(step, SetWeight):
            current = step.weight
            result.weight = current
            extra = ""
            if routing == "replicas":
                c, s = replicas_for_weight(current, total, max_surge)
                extra = (f": {c} canary + {s} stable pods ≈ {effective_weight(c, s):.0f} % "
                         "of the traffic")
            else:
                extra = f": route {stable_service} {100 - current} / {canary_service} {current}"
            _say(lab, f"canary {index}/{len(plan)}: set weight {current} %{extra}",
                 f"{current} %", "step")
            problem = apply_weight(current)
            if problem:
                return _rollback_canary(lab, result, f"canary not available: {problem}", routing,
                                        total, stable, canary, set_route, is_new,
                                        abort_scale_down_delay_s)
            window_start = lab.now() + SETTLE_S
            state["step_verdicts"] = []
            continue
        if step.seconds is None:
            result.status = PAUSED
            result.reason = (f"pause without a duration at step {index}: waiting for a manual "
                             "promotion")
            _say(lab, f"canary {index}/{len(plan)}: {result.reason}", "paused", "gate")
            return _finish(result, lab, is_new)
        _say(lab, f"canary {index}/{len(plan)}: pause {step.seconds:g} s"
             + (f", analysis every {analysis.interval_s:g} s" if analysis else ""))
        if analysis is None:
            lab.wait(step.seconds)
            continue
        pause_start = lab.now()
        lab.wait(max(0.0, min(window_start - lab.now(), step.seconds)))
        remaining = step.seconds - (lab.now() - pause_start)
        ws = window_start

        def measure(ws=ws) -> Judgement:
            now = lab.now()
            new = [q for q in _answered_by(lab, ws, now, {canary})
                   if q.pod not in canary_pods_before]
            base = _answered_by(lab, ws, now, {stable})
            if len(base) < analysis.min_requests:
                # Little or no stable traffic at this weight (100 %: none): compare with the
                # stable's requests since the release began instead (a historical baseline).
                base = _answered_by(lab, started, now, {stable})
            return analysis.judge(sample_of(new), sample_of(base), ("canary", "stable"))

        failing = _observe(lab, max(remaining, 0.0), analysis, measure, state, index, current,
                           label=f"analysis at {current} %")
        if failing is not None:
            reason = (f"analysis failed {plural(state['failures'], 'time')}, limit "
                      f"{analysis.failure_limit}: {failing.reason}")
            return _rollback_canary(lab, result, reason, routing, total, stable, canary,
                                    set_route, is_new, abort_scale_down_delay_s)
        verdicts = state["step_verdicts"]
        if current > 0 and (not verdicts or all(v == INCONCLUSIVE for v in verdicts)):
            last = result.measurements[-1].judgement if result.measurements else None
            if analysis.inconclusive == "pause":
                result.status = PAUSED
                result.reason = (f"analysis inconclusive at {current} %: "
                                 + (last.reason if last else
                                    "no measurement (pause shorter than interval)"))
                _say(lab, f"canary {index}/{len(plan)}: paused: {result.reason}", "paused", "gate")
                return _finish(result, lab, is_new)
        if result.measurements and verdicts:
            _say(lab, f"canary {index}/{len(plan)}: analysis passed: "
                 f"{result.measurements[-1].judgement.reason}")

    # -- promotion -------------------------------------------------------------------------
    _say(lab, f"canary: promote {version}: {stable} gets {image}", "promote", "step")
    if routing == "gateway":
        if current < 100:
            if _replicas(lab, canary) < total:
                lab.scale(canary, total)
                problem = _wait_available(lab, canary, available_timeout_s)
                if problem:
                    return _rollback_canary(lab, result, f"canary not available: {problem}",
                                            routing, total, stable, canary, set_route, is_new,
                                            abort_scale_down_delay_s)
            set_route(100)
            lab.wait(SETTLE_S)
        lab.set_image(stable, image)
        lab.wait_rollout(stable)
        set_route(0)
        _say(lab, f"canary: route back to {stable_service} ({version}); scale {canary} to 0 in "
             f"{scale_down_delay_s:g} s", "stable = " + version, "step")
        lab.wait(scale_down_delay_s)
        lab.scale(canary, 0)
    else:
        lab.set_image(stable, image)
        if _replicas(lab, stable) != total:
            lab.scale(stable, total)
        lab.wait_rollout(stable)
        lab.wait_available(stable)
        lab.scale(canary, 0)
    # Without an analysis nothing was judged: "passed" would claim a test that never ran.
    result.reason = (f"every step passed; {stable} runs {version}" if analysis is not None
                     else f"every step completed (no analysis judged it); {stable} runs "
                          f"{version}")
    _say(lab, f"canary: promoted: {result.reason}", "promoted", "rollout-end")
    return _finish(result, lab, is_new)


def _rollback_canary(lab, result, reason, routing, total, stable, canary, set_route, is_new,
                     abort_scale_down_delay_s) -> StrategyResult:
    result.status, result.reason, result.decided_at = ROLLED_BACK, reason, lab.now()
    _say(lab, f"canary: ROLLBACK at {result.weight} %: weight → 0, {canary} → 0 pods",
         "rollback", "rollback")
    if routing == "gateway":
        set_route(0)
        lab.wait(abort_scale_down_delay_s)
        lab.scale(canary, 0)
    else:
        lab.scale(canary, 0)
        if _replicas(lab, stable) != total:
            lab.scale(stable, total)
        lab.wait(SETTLE_S)
    return _finish(result, lab, is_new)

