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

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, Union

from ._judgement import INCONCLUSIVE, Judgement, judge, sample_of
from .rollout import rollout_status
from .errors import UsageError, WaitTimeout

__all__ = [
    "SetWeight", "Pause", "set_weight", "pause", "steps_for", "flagger_steps",
    "Analysis", "Measurement", "StrategyResult",
    "replicas_for_weight", "effective_weight", "min_promotion_seconds",
    "rolling", "blue_green", "canary",
    "PROMOTED", "ROLLED_BACK", "ABORTED", "PAUSED", "SEED_WEIGHTS",
]

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


# --------------------------------------------------------------------------- analysis

@dataclass(frozen=True)
class Analysis:
    """How often and how strictly to judge the new version (see ``releaselab._judgement.judge``).

    ``interval_s``      time between measurements;
    ``failure_limit``   failed measurements tolerated; one more aborts (Argo's
                        ``failureLimit``, default 0: the first failure aborts);
    ``min_requests``    new-version requests a measurement needs, else inconclusive;
    ``alpha``, ``min_difference``, ``max_error_rate``, ``max_p99_ms``: the judgement's thresholds;
    ``inconclusive``    what a step whose every measurement was inconclusive does:
                        ``"pause"`` (Argo: wait for a human) or ``"continue"``.
    """

    interval_s: float = 5.0
    failure_limit: int = 0
    min_requests: int = 50
    alpha: float = 0.01
    min_difference: float = 0.01
    max_error_rate: Optional[float] = None
    max_p99_ms: Optional[float] = None
    inconclusive: str = "pause"

    def __post_init__(self):
        if not isinstance(self.interval_s, (int, float)) or self.interval_s <= 0:
            raise UsageError(f"Analysis(interval_s={self.interval_s!r}): must be > 0 seconds")
        if not isinstance(self.failure_limit, int) or self.failure_limit < 0:
            raise UsageError(f"Analysis(failure_limit={self.failure_limit!r}): a count >= 0")
        if self.inconclusive not in ("pause", "continue"):
            raise UsageError(f"Analysis(inconclusive={self.inconclusive!r}): 'pause' or 'continue'")

    def judge(self, new, baseline, names: tuple = ("canary", "baseline")) -> Judgement:
        return judge(new, baseline, min_requests=self.min_requests, alpha=self.alpha,
                     min_difference=self.min_difference, max_error_rate=self.max_error_rate,
                     max_p99_ms=self.max_p99_ms, names=names)


@dataclass(frozen=True)
class Measurement:
    t: float
    step: Optional[int]
    weight: Optional[int]
    judgement: Judgement


@dataclass
class StrategyResult:
    """How a release ended, and what it cost."""

    strategy: str
    status: str                 # PROMOTED, ROLLED_BACK, ABORTED or PAUSED
    reason: str
    started: float
    ended: float
    step: Optional[int] = None        # 1-based step index where it ended (canary)
    steps: Optional[int] = None       # steps in the plan
    weight: Optional[int] = None      # canary weight when it ended (before any rollback)
    new_requests: int = 0             # requests the new version answered (or dropped)
    new_failed: int = 0
    sent: int = 0                     # user requests recorded between started and ended
    failed: int = 0                   # (blue-green: to the active Service; smoke tests excluded)
    decided_at: Optional[float] = None   # when the rollback / abort was decided
    measurements: list = field(default_factory=list)

    @property
    def promoted(self) -> bool:
        return self.status == PROMOTED

    @property
    def rolled_back(self) -> bool:
        return self.status == ROLLED_BACK

    @property
    def seconds(self) -> float:
        return round(self.ended - self.started, 2)

    def __repr__(self) -> str:
        where = ""
        if self.step is not None:
            where = f" at step {self.step} of {self.steps}"
            if self.weight is not None:
                where += f" (weight {self.weight} %)"
        status = self.status.replace("_", " ")
        return (f"{self.strategy}: {status}{where} after {self.seconds:.1f} s — {self.reason}\n"
                f"  new version answered {self.new_requests} requests, {self.new_failed} failed; "
                f"{self.failed} of {self.sent} requests failed in all")


# --------------------------------------------------------------------------- helpers

def _say(lab, text: str, mark: Optional[str] = None, category: str = "step") -> None:
    print(f"[{lab.now():7.1f} s] {text}")
    if mark is not None:
        lab.mark(mark, category)


def _deployment_of(lab, pod: Optional[str]) -> Optional[str]:
    if pod is None:
        return None
    record = lab.timeline.pod(pod)
    return record.deployment if record else None


def _answered_by(lab, start: float, end: float, deployments: set, target=None,
                 pod_filter: Optional[Callable] = None) -> list:
    out = []
    for q in lab.timeline.requests_between(start, end, target):
        if q.pod is None or _deployment_of(lab, q.pod) not in deployments:
            continue
        if pod_filter is not None and not pod_filter(lab.timeline.pod(q.pod)):
            continue
        out.append(q)
    return out


def _finish(result: StrategyResult, lab, new_of: Callable,
            target: Optional[str] = None) -> StrategyResult:
    result.ended = lab.now()
    window = lab.timeline.requests_between(result.started, result.ended + 1e-9, target)
    result.sent = len(window)
    result.failed = sum(1 for q in window if not q.ok)
    new = [q for q in window if new_of(q)]
    result.new_requests = len(new)
    result.new_failed = sum(1 for q in new if not q.ok)
    return result


def _replicas(lab, name: str) -> int:
    return int(lab.get("Deployment", name)["spec"].get("replicas", 1))


def _clean(obj: dict) -> dict:
    """A live object reduced to what an apply needs (the live one carries server fields)."""
    meta = obj["metadata"]
    clean_meta = {"name": meta["name"], "namespace": meta.get("namespace", "releaselab"),
                  "labels": dict(meta.get("labels") or {})}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": clean_meta,
            "spec": obj["spec"]}


def _set_selector(lab, service: str, label: str, value: str) -> None:
    svc = _clean(lab.get("Service", service))
    svc["spec"] = dict(svc["spec"])
    svc["spec"]["selector"] = {**(svc["spec"].get("selector") or {}), label: value}
    lab.apply(svc)


def _pods_problem(lab, name: str) -> str:
    pods = [p for p in lab.backend.list("Pod") if (p["metadata"].get("ownerReferences") or [{}])[0]
            .get("name", "").rsplit("-", 1)[0] == name]
    not_ready = [p for p in pods if not any(c.get("ready") for c in
                                            p["status"].get("containerStatuses") or [])]
    unscheduled = [p for p in not_ready if not p["spec"].get("nodeName")]
    text = f"{len(not_ready)} of {len(pods)} pods not ready"
    if unscheduled:
        text += f", {len(unscheduled)} Pending (not scheduled)"
        why = [e for e in lab.timeline.events if e.reason == "FailedScheduling"]
        if why:
            text += f": FailedScheduling: {why[-1].message}"
    return text


def _wait_rollout(lab, name: str, timeout: Optional[float] = None):
    return lab.wait_rollout(name) if timeout is None else lab.wait_rollout(name, timeout=timeout)


def _wait_available(lab, name: str, timeout: float) -> Optional[str]:
    """None when available, else what is wrong (WaitTimeout turned into a reason)."""
    try:
        lab.wait_available(name, timeout=timeout)
        return None
    except WaitTimeout:
        return f"{name} did not become available within {timeout:g} s ({_pods_problem(lab, name)})"


def _observe(lab, seconds: float, analysis: Analysis, measure: Callable[[], Judgement],
             state: dict, step: Optional[int] = None, weight: Optional[int] = None,
             label: str = "analysis") -> Optional[Judgement]:
    """Measure every interval for ``seconds``; the judgement that aborts, or None."""
    end = lab.now() + seconds
    while lab.now() < end - 1e-9:
        lab.wait(min(analysis.interval_s, end - lab.now()))
        j = measure()
        state["measurements"].append(Measurement(round(lab.now(), 3), step, weight, j))
        state["step_verdicts"].append(j.verdict)
        if j.failed:
            state["failures"] += 1
            _say(lab, f"{label}: FAILED (failure {state['failures']}, limit "
                 f"{analysis.failure_limit}): {j.reason}", f"{label} failed", "gate")
            if state["failures"] > analysis.failure_limit:
                return j
    return None


# --------------------------------------------------------------------------- rolling

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
    started = lab.now()
    old_pods = {p.name for p in lab.timeline.pods_of(name)}
    result = StrategyResult("rolling", PROMOTED, "", started, started)

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


# --------------------------------------------------------------------------- blue-green

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
    if len(deployments) != 2:
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
    result = StrategyResult("blue-green", PROMOTED, "", started, started)
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


# --------------------------------------------------------------------------- canary

def canary(lab, image: str, *, steps=None, analysis: Optional[Analysis] = None,
           routing: str = "gateway", stable: str = "web-stable", canary: str = "web-canary",
           route: str = "web", stable_service: str = "web-stable",
           canary_service: str = "web-canary", canary_replicas: Optional[int] = None,
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
                   ceil(w × N / 100) pods (or ``canary_replicas``), the stable stays at N;
                   ``"replicas"``: one Service over both tracks, the weight is
                   approximated by pod counts (:func:`replicas_for_weight`).

    On failure: weight → 0 (the route sends nothing to the canary, or its pods
    are scaled away) and the canary is scaled to 0 (after
    ``abort_scale_down_delay_s`` with a gateway).  After the last step the
    stable Deployment gets ``image`` (a rolling update with the traffic on the
    canary), traffic returns to it, and the canary is scaled to 0.
    """
    if routing not in ("gateway", "replicas"):
        raise UsageError(f"routing={routing!r}: 'gateway' (weighted HTTPRoute) or 'replicas' "
                         "(weight approximated by pod counts)")
    plan = _normalise(steps if steps is not None else steps_for(SEED_WEIGHTS, 15))
    if not plan:
        raise UsageError("steps: the plan is empty; e.g. steps_for([5, 25, 50, 100], 30)")
    started = lab.now()
    total = _replicas(lab, stable)
    if total < 1:
        raise UsageError(f"Deployment {stable} has 0 replicas: the stable track must be running")
    canary_pods_before = {p.name for p in lab.timeline.pods_of(canary)}
    result = StrategyResult("canary", PROMOTED, "", started, started, steps=len(plan), weight=0)
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
    _say(lab, f"canary: {version} via {canary}, {len(plan)} steps, routing by "
         f"{'HTTPRoute ' + route if routing == 'gateway' else 'replica counts'}",
         f"canary {version}", "rollout-start")
    lab.set_image(canary, image)

    def apply_weight(w: int) -> Optional[str]:
        if routing == "replicas":
            c, s = replicas_for_weight(w, total)
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
            replicas_for_weight(w, total)[0]
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
                c, s = replicas_for_weight(current, total)
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
            reason = (f"analysis failed {state['failures']} time(s), limit "
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
    result.reason = f"every step passed; {stable} runs {version}"
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
