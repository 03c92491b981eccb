"""Checkers for lab 03, canary (the social media app, 2.0 → 2.1, at 5, 10, 25, 50, 75, 100 %).

Two kinds of checker, and each docstring says which it is:

* **simulates the answer** (a pod split, a step plan): runs it on the
  simulator — ``backend="sim"``, whatever ``RELEASELAB_BACKEND`` says — with
  fixed seeds, and judges what clients saw;
* **reads the reader's run**: the TrafficRun and StrategyResult they produced.

Helpers the lab uses too:

``fresh_lab(routing, seed)``           the lab's starting point: stable 2.0 × 10, an empty
                                       canary, and the Gateway + HTTPRoute or the one
                                       Service — on the reader's backend, reset first
``run_canary(image, steps, analysis)`` one measured canary release on the simulator →
                                       (TrafficRun, StrategyResult)
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any, Optional

from .. import strategies as st
from ..errors import ReleaseLabError, UsageError
from ..lab import Lab, TrafficRun
from ._runs import plural
from ._core import (Verdict, describe, exercise, failed, first_wrong, is_number, missing,
                    passed, unanswered, whole)

RPS = 100
TOTAL = 10
GOOD, BAD = "releaselab/web:2.1", "releaselab/web:2.1-bad"
SEED = 3
ROUTINGS = ("gateway", "replicas")


def fresh_lab(routing: str = "gateway", seed: int = SEED, echo: bool = False,
              backend: Optional[str] = None) -> Lab:
    """Stable 2.0 with 10 replicas, the canary Deployment at 0, and the routing for ``routing``.

    On the reader's backend unless ``backend`` names one (``"sim"`` for a
    checker's own run); what an earlier run left is deleted first
    (:meth:`Lab.reset`), so every exercise starts from the same state.  The set-up
    runs quietly; ``echo=True`` prints the kubectl twin of every later call on the
    returned Lab (the labs pass it; checkers and the book's figures do not).
    """
    if routing not in ROUTINGS:
        raise UsageError(f"routing={routing!r}: choose 'gateway' (weighted HTTPRoute) or "
                         "'replicas' (one Service over both Deployments)")
    lab = Lab(backend, seed=seed, echo=False)
    lab.reset()
    lab.apply("canary/stable.yaml")
    lab.apply("canary/canary.yaml")
    lab.apply("canary/gateway.yaml" if routing == "gateway" else "canary/service.yaml")
    lab.wait_available("web-stable")
    lab.echo = echo
    return lab


def target_of(routing: str) -> str:
    return "gateway/web" if routing == "gateway" else "web"


def run_canary(image: str, steps, analysis, routing: str = "gateway", seed: int = SEED,
               quiet: bool = True, tail_s: float = 5.0, backend: Optional[str] = "sim"):
    """Release ``image`` with ``steps`` and ``analysis`` at 100 req/s: (TrafficRun, result).

    On the simulator by default (it is how checkers simulate a plan);
    ``backend=None`` runs it on the reader's backend instead.
    """
    lab = fresh_lab(routing, seed, backend=backend)
    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        with lab.traffic(rps=RPS, target=target_of(routing)) as run:
            lab.wait(2)
            result = st.canary(lab, image, steps=steps, analysis=analysis, routing=routing)
            lab.wait(tail_s)
    return run, result


def _share(requests, version_prefix: str) -> float:
    ok = [q for q in requests if q.version is not None]
    if not ok:
        return 0.0
    return 100.0 * sum(1 for q in ok if q.version.startswith(version_prefix)) / len(ok)


def nearest_split(weight: int, total: int = TOTAL) -> tuple[int, int]:
    """The split of ``total`` pods whose pod share is nearest ``weight`` %, at least one canary.

    As Argo Rollouts (v1.2 and later) picks it without a traffic router and
    with maxSurge 0 (:func:`~releaselab.strategies.replicas_for_weight`): the
    closest share, an exact half rounding up.  5 % of 10 pods: 1 pod is 10 %,
    the nearest a canary of whole pods gets; 15 %: 1.5 pods, so 2 (20 %).
    """
    canary, stable = st.replicas_for_weight(weight, total)
    if canary == 0 and 0 < weight:      # upstream's corner (2 pods at 75 %): no canary is none
        canary, stable = 1, total - 1
    return canary, stable


def _not_a_run(name: str, value: Any) -> Optional[Verdict]:
    if not isinstance(value, TrafficRun):
        return failed(f"{name}={describe(value)}: expected the run of `with lab.traffic(...) "
                      f"as {name}:`")
    if value.end is None:
        return failed(f"{name} is still running: call the check after the `with` block")
    return None


def _not_a_result(name: str, value: Any) -> Optional[Verdict]:
    if not isinstance(value, st.StrategyResult):
        return failed(f"{name}={describe(value)}: expected what canary(...) returns")
    return None


# ------------------------------------------------------------------------------ exercises

HINT_03_1 = ('kube-proxy spreads requests evenly over the pods behind the Service: the '
             "canary's share is its share of the pods")


@exercise("03.1", "as close to 5 % as ten pods allow", hint=HINT_03_1,
          fix="canary_pods, stable_pods = 1, 9: ten pods in all, and one pod is the smallest "
              "canary (10 %, the closest to 5 %)")
def replica_split(canary_pods: Any, stable_pods: Any, weight: int = 5,
                  total: int = TOTAL) -> Verdict:
    """Exercise 1: ``total`` pods behind one Service, as close to ``weight`` % as they allow.

    Simulates the answer (``fresh_lab("replicas", backend="sim")``): the split
    under 100 req/s for 30 s, and the share of requests 2.1 answered.
    """
    if unanswered(canary_pods, stable_pods):
        return missing("set canary_pods and stable_pods",
                       hint=HINT_03_1)
    canary, stable = whole(canary_pods), whole(stable_pods)
    if canary is None or stable is None or canary < 0 or stable < 0:
        return failed(f"pod counts are whole numbers >= 0, not {describe(canary_pods)} / "
                      f"{describe(stable_pods)}")
    if canary + stable != total:
        return failed(f"{canary} + {stable} = {canary + stable} pods: the exercise keeps the "
                      f"fleet at {total} (a canary takes a stable pod's place)")
    if canary == 0:
        return failed("0 canary pods send 0 % of the traffic to 2.1: that is no canary at all",
                      hint="the smallest canary is one pod")
    lab = fresh_lab("replicas", backend="sim")
    lab.set_image("web-canary", GOOD)
    lab.scale("web-canary", canary)
    lab.scale("web-stable", stable)
    if canary:
        lab.wait_available("web-canary")
    if stable:
        lab.wait_available("web-stable")
    with lab.traffic(rps=RPS, target="web") as run:
        lab.wait(30)
    measured = _share(run.requests, "2.1")
    best_c, best_s = nearest_split(weight, total)
    if (canary, stable) != (best_c, best_s):
        return failed(f"{canary} canary pods of {total} took {measured:.1f} % of "
                      f"{plural(len(run.requests), 'request')} (pod share "
                      f"{st.effective_weight(canary, stable):.0f} %), {weight} % was the aim",
                      hint=f"each pod of {total} is {100 / total:g} % of the traffic: which "
                           f"whole number of pods comes nearest {weight} %?",
                      fix=f"canary_pods, stable_pods = {best_c}, {best_s}")
    exact = 100 // math.gcd(100, weight)
    return passed(f"{canary} of {total} pods: measured {measured:.1f} % of "
                  f"{plural(len(run.requests), 'request')} on 2.1 — the nearest {total} pods allow. "
                  f"Exactly {weight} % by pods needs {exact} pods in all "
                  f"({exact * weight // 100} of {exact}); a weighted route does it with any "
                  "pod count")


_ANALYSIS_HINT = ("steps alone are only a timer: what makes the canary stop by itself when "
                  "2.1-bad's errors show?")
_ANALYSIS_FIX = ("canary(lab, 'releaselab/web:2.1-bad', steps=steps_for(SEED_WEIGHTS, 20), "
                 "analysis=Analysis(interval_s=5, min_requests=50))")


@exercise("03.2", "catch the bad canary at 5 %", hint=_ANALYSIS_HINT, fix=_ANALYSIS_FIX)
def caught_at_first_step(result: Any, run: Any) -> Verdict:
    """Exercise 2: the bad canary is rolled back automatically at its first weight (5 %).

    Reads the reader's run: the StrategyResult and the requests around it.
    """
    if unanswered(result, run):
        return missing("run canary(...) with steps and an analysis inside the traffic run, "
                       "and name its result `result`", hint=_ANALYSIS_HINT)
    wrong = first_wrong(_not_a_result("result", result), _not_a_run("run", run))
    if wrong is not None:
        return wrong
    requests = list(run.requests)
    failures = [q for q in requests if not q.ok]
    if result.status == "promoted":
        return failed(f"2.1-bad was PROMOTED: {len(failures)} of {len(requests)} requests "
                      "failed, and nothing stopped it", hint=_ANALYSIS_HINT, fix=_ANALYSIS_FIX)
    if result.status == "paused":
        return failed(f"the canary paused instead of deciding: {result.reason}",
                      hint=f"at 5 % of {RPS} req/s the canary gets about {RPS * 0.05:g} "
                           "requests a second: how long must a pause be to collect "
                           "min_requests?",
                      fix="pause 20 s at each weight (steps_for(SEED_WEIGHTS, 20)) with "
                          "min_requests=50")
    if result.status != "rolled_back":
        return failed(f"the release ended {result.status!r}: {result.reason}",
                      hint=_ANALYSIS_HINT, fix=_ANALYSIS_FIX)
    if result.weight != 5:
        return failed(f"rolled back, but at {result.weight} %, not at the first 5 % step: "
                      f"{plural(len(failures), 'request')} failed on the way",
                      hint="where does the plan start, and is there an analysis during its "
                           "first pause?",
                      fix="begin the plan with set_weight(5) followed by a pause long enough "
                          "for min_requests (steps_for(SEED_WEIGHTS, 20))")
    on_bad = sum(1 for q in failures if q.version == "2.1-bad")
    return passed(f"rolled back at 5 % (step {result.step}), "
                  f"{result.decided_at - result.started:.1f} s after the release began; "
                  f"{len(failures)} of {len(requests)} requests failed ({on_bad} of them "
                  f"answered by 2.1-bad, which {plural(result.new_requests, 'request')} "
                  "reached)")


HINT_03_3 = ("a big bang is a canary plan whose first weight is 100, judged by exercise 2's "
             'analysis')


@exercise("03.3", "the same bad release, all at once", hint=HINT_03_3,
          fix="big_bang = canary(lab, 'releaselab/web:2.1-bad', steps=steps_for([100], 20), "
              "analysis=<exercise 2's Analysis, unchanged>), run under traffic as in "
              "exercise 2, then pass both runs and canary_result=result")
def blast_radius_vs_big_bang(canary_run: Any, big_bang_run: Any, big_bang: Any = None,
                             canary_result: Any = None) -> Verdict:
    """Exercise 3: the same bad release all at once, judged by the same gate, fails many more
    users than the canary.

    Reads the reader's two runs and results (exercise 2's ``canary_run`` and
    ``canary_result``, this one's ``big_bang_run`` and ``big_bang``): the big
    bang's plan must start at weight 100, run exercise 2's analysis (the same
    Analysis) and be stopped by it; then the failed requests of the two runs
    are compared.
    """
    if unanswered(canary_run, big_bang_run, big_bang, canary_result):
        return missing("release 2.1-bad all at once (one step at weight 100) and name its "
                       "result `big_bang`", hint=HINT_03_3)
    if canary_result is None or big_bang is None:
        return failed("pass both results: check.blast_radius_vs_big_bang(canary_run, "
                      "big_bang_run, big_bang, canary_result=result) — the check compares "
                      "the big bang's gate with exercise 2's")
    wrong = first_wrong(_not_a_run("canary_run", canary_run),
                        _not_a_run("big_bang_run", big_bang_run),
                        _not_a_result("big_bang", big_bang),
                        _not_a_result("canary_result", canary_result))
    if wrong is not None:
        return wrong
    if not any(q.version == "2.1-bad" for q in canary_run.requests):
        return missing("no request of `canary_run` reached 2.1-bad: do exercise 2 first")
    weights = [s.weight for s in big_bang.plan if isinstance(s, st.SetWeight)]
    if not weights or weights[0] != 100:
        return failed(f"the plan's first weight is {weights[0] if weights else 'missing'} %: "
                      "this is a canary, not a big bang, which sends every user to the new "
                      "version at once", hint="a big bang is a canary plan whose first weight "
                                              "is 100")
    same = canary_result.analysis
    if big_bang.analysis is None:
        return failed(f"the big bang ran without an analysis: nothing could stop 2.1-bad, and "
                      f"it was {big_bang.status.replace('_', ' ')} — the exercise gives it "
                      f"exercise 2's gate ({_gate_text(same)})",
                      hint="which argument of canary(...) stopped exercise 2's release?")
    if big_bang.analysis != same:
        return failed(f"the big bang's gate is {_gate_text(big_bang.analysis)}, exercise 2's "
                      f"is {_gate_text(same)}: with different gates the two counts compare "
                      "the gates, not the weights",
                      hint="copy exercise 2's analysis argument as it is")
    if not big_bang.measurements:
        return failed(f"the analysis never measured: the plan {_plan_text(big_bang.plan)} has no "
                      f"pause of at least interval_s ({big_bang.analysis.interval_s:g} s) at "
                      f"100 %, so 2.1-bad was {big_bang.status.replace('_', ' ')} unjudged",
                      hint="the analysis measures during a pause")
    if not big_bang.rolled_back:
        return failed(f"the gate did not stop the big bang: {big_bang.status.replace('_', ' ')}"
                      f" ({big_bang.reason})", hint="is the pause at 100 % long enough for "
                                                    "min_requests?")
    a = sum(1 for q in canary_run.requests if not q.ok)
    b = sum(1 for q in big_bang_run.requests if not q.ok)
    n_a, n_b = len(canary_run.requests), len(big_bang_run.requests)
    if b <= a:
        return failed(f"the big bang failed {b} of {n_b} requests and the canary {a} of {n_a}",
                      hint="did both runs send the same traffic for as long?")
    return passed(f"canary_run: {a} of {n_a} requests failed; big_bang_run, with the same gate "
                  f"({_gate_text(same)}): {b} of {n_b} ({b / max(a, 1):.0f}× as many) — "
                  "the weight is the share of users a bad release can hurt before the "
                  "analysis stops it")


def _gate_text(analysis: Optional[st.Analysis]) -> str:
    """An Analysis in short: interval_s and min_requests, and any other field not at its default."""
    if analysis is None:
        return "no analysis"
    default = st.Analysis()
    fields = ["interval_s", "min_requests"] + [
        f for f in ("failure_limit", "alpha", "min_difference", "max_error_rate", "max_p99_ms",
                    "inconclusive") if getattr(analysis, f) != getattr(default, f)]
    return "Analysis(" + ", ".join(f"{f}={getattr(analysis, f)!r}" for f in fields) + ")"


def _plan_text(plan) -> str:
    return "[" + ", ".join(f"set_weight({s.weight})" if isinstance(s, st.SetWeight)
                           else f"pause({'' if s.seconds is None else format(s.seconds, 'g')})"
                           for s in plan) + "]"


def _plan_problem(steps: Any, analysis: Any, within_s: float,
                  min_requests_floor: int) -> Optional[Verdict]:
    """A ❌ for a plan that cannot be run as asked (checked before anything is simulated)."""
    if not isinstance(analysis, st.Analysis):
        return failed(f"my_analysis={describe(analysis)}: expected an Analysis(...) — without "
                      "one the canary cannot be stopped")
    if not isinstance(steps, (list, tuple)) or not steps or not all(
            isinstance(s, (st.SetWeight, st.Pause)) for s in steps):
        return failed(f"my_steps={describe(steps)}: expected a list of set_weight(...) and "
                      "pause(...) steps, e.g. steps_for([5, 25, 100], 10)")
    minimum = whole(analysis.min_requests)
    if minimum is None or minimum < min_requests_floor:
        return failed(f"min_requests={describe(analysis.min_requests)}: below "
                      f"{min_requests_floor} a verdict rests on a handful of requests (with 10, "
                      f"one unlucky failure is 10 %); keep it at {min_requests_floor} or more",
                      hint="lower the exposure another way: a smaller first weight, shorter "
                           "intervals")
    if not is_number(analysis.interval_s) or analysis.interval_s > within_s:
        return failed(f"interval_s={describe(analysis.interval_s)}: expected a finite number of "
                      f"seconds, at most the {within_s:g} s the release may take")
    waits = [s.seconds for s in steps if isinstance(s, st.Pause)]
    if any(w is None for w in waits):
        return failed("pause() without seconds waits for a human forever: the good release "
                      f"could never be promoted within {within_s:g} s",
                      fix="give every pause its seconds, e.g. pause(10)")
    if not all(is_number(w) for w in waits):
        return failed(f"pause seconds {[describe(w) for w in waits]}: expected finite numbers")
    if sum(waits) > within_s:
        return failed(f"the pauses add up to {sum(waits):g} s, more than the {within_s:g} s "
                      "the good release may take", hint="fewer steps, or shorter pauses")
    return None


HINT_03_4 = 'canary requests before the first verdict = weight × rate × time'


@exercise("03.4", "a plan within a blast-radius budget", hint=HINT_03_4,
          fix="steps_for([5, 25, 50, 100], 10), Analysis(interval_s=2, min_requests=20)")
def plan_within_budget(steps: Any, analysis: Any, max_failed: int = 10, within_s: float = 180.0,
                       min_requests_floor: int = 20, seeds=(SEED, 7)) -> Verdict:
    """Exercise 4: a plan whose bad release fails at most ``max_failed`` requests and whose good
    release is promoted within ``within_s`` seconds (weighted routing, 100 req/s).

    Simulates the answer: both releases with the plan, on the simulator
    (:func:`run_canary`, ``backend="sim"``), on each seed.
    """
    if unanswered(steps, analysis):
        return missing("set my_steps and my_analysis",
                       hint=HINT_03_4)
    wrong = _plan_problem(steps, analysis, within_s, min_requests_floor)
    if wrong is not None:
        return wrong
    worst, slowest = 0, 0.0
    for seed in seeds:
        try:
            bad_run, bad = run_canary(BAD, steps, analysis, seed=seed)
            good_run, good = run_canary(GOOD, steps, analysis, seed=seed)
        except ReleaseLabError as exc:
            return failed(f"the plan does not run: {exc}")
        n_bad = sum(1 for q in bad_run.requests if not q.ok)
        if not bad.rolled_back:
            return failed(f"seed {seed}: 2.1-bad was not rolled back ({bad.status}: "
                          f"{bad.reason}); {plural(n_bad, 'request')} failed",
                          hint="does the analysis get enough canary requests during the first "
                               "pause to decide?")
        if n_bad > max_failed:
            return failed(f"seed {seed}: 2.1-bad was rolled back at {bad.weight} % but {n_bad} "
                          f"requests failed (budget {max_failed}); {bad.new_requests} reached "
                          "the canary before it was stopped",
                          hint="fewer canary requests before the first verdict: weight × "
                               f"{RPS} req/s × seconds until min_requests is reached",
                          fix="start at 5 %, analyse every 2 s with min_requests=20: "
                              "steps_for([5, 25, 50, 100], 10), Analysis(interval_s=2, "
                              "min_requests=20)")
        if not good.promoted:
            return failed(f"seed {seed}: the GOOD release 2.1 was not promoted ({good.status}: "
                          f"{good.reason}) — a plan that stops everything is no release plan",
                          hint="is every pause long enough for min_requests at its weight?")
        if good.seconds > within_s:
            return failed(f"seed {seed}: the good release took {good.seconds:.0f} s to promote "
                          f"(limit {within_s:.0f} s)", hint="fewer or shorter pauses")
        worst, slowest = max(worst, n_bad), max(slowest, good.seconds)
    return passed(f"bad release: at most {worst} failed requests (budget {max_failed}); "
                  f"good release promoted in at most {slowest:.0f} s (limit {within_s:.0f} s), "
                  f"over seeds {', '.join(map(str, seeds))}")


def exposure(run, result: Optional[object] = None) -> dict:
    """Numbers the lab prints: requests, failed, answered by the bad version."""
    reqs = list(run.requests)
    return {"requests": len(reqs), "failed": sum(1 for q in reqs if not q.ok),
            "answered by 2.1-bad": sum(1 for q in reqs if q.version == "2.1-bad")}


__all__ = ["fresh_lab", "target_of", "run_canary", "nearest_split", "replica_split",
           "caught_at_first_step", "blast_radius_vs_big_bang", "plan_within_budget",
           "exposure"]
