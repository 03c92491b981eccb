"""Analysis (the gate), what it measured, what a procedure returns, and shared helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from .. import _args
from .._plural import plural
from .._judgement import Judgement, judge
from ..errors import UsageError, WaitTimeout
from ._steps import PROMOTED, ROLLED_BACK

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
        # Every field checked here, so a wrong type is one line now, not a TypeError inside
        # a measurement minutes later (a NaN passes `<= 0`: it is tested with isfinite).
        _args.seconds("Analysis", "interval_s", self.interval_s, low_open=True)
        if not isinstance(self.failure_limit, int) or isinstance(self.failure_limit, bool) \
                or self.failure_limit < 0:
            raise UsageError(f"Analysis(failure_limit={self.failure_limit!r}): a count >= 0")
        _args.whole("Analysis", "min_requests", self.min_requests, low=1, high=10**9,
                    what="requests a measurement needs")
        object.__setattr__(self, "min_requests", int(self.min_requests))
        _args.optional_number("Analysis", "alpha", self.alpha, low=0, high=1, low_open=True,
                              what="the significance level, e.g. 0.01")
        _args.optional_number("Analysis", "min_difference", self.min_difference, low=0, high=1,
                              what="a difference of error rates, e.g. 0.01")
        _args.optional_number("Analysis", "max_error_rate", self.max_error_rate, low=0, high=1,
                              what="an error rate, e.g. 0.05, or None")
        _args.optional_number("Analysis", "max_p99_ms", self.max_p99_ms, low=0, high=3.6e6,
                              low_open=True, what="milliseconds, or None")
        if self.alpha is None or self.min_difference is None:
            raise UsageError("Analysis(alpha=..., min_difference=...): both are numbers, "
                             "e.g. alpha=0.01, min_difference=0.01")
        if self.inconclusive not in ("pause", "continue"):
            raise UsageError(f"Analysis(inconclusive={self.inconclusive!r}): 'pause' or 'continue'")

    def judge(self, new, baseline, names: tuple = ("canary", "baseline")) -> Judgement:
        return judge(new, baseline, min_requests=self.min_requests, alpha=self.alpha,
                     min_difference=self.min_difference, max_error_rate=self.max_error_rate,
                     max_p99_ms=self.max_p99_ms, names=names)


Analysis.__init__ = _args.checked_call(Analysis.__init__)   # Analysis(intervall_s=5): one line


def _analysis(call: str, param: str, value) -> None:
    """None or an :class:`Analysis` (``True``, a dict, a number: one UsageError line)."""
    if value is not None and not isinstance(value, Analysis):
        raise UsageError(f"{call}({param}={value!r}): expected an Analysis(...), e.g. "
                         f"{param}=Analysis(interval_s=5, min_requests=50), or None")


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
    analysis: Optional[Analysis] = None   # the gate it ran with (canary; blue-green: pre or post)
    plan: tuple = ()                      # the canary's steps as run

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
                f"  new version answered {plural(self.new_requests, 'request')}, "
                f"{self.new_failed} failed; {self.failed} of {self.sent} requests failed in all")


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


