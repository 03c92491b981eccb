"""Checkers for lab 03, canary (the social media app, 2.0 → 2.1, at 5, 10, 25, 50, 75, 100 %).

Each judges the reader's *run*: the TrafficRun and StrategyResult they
produced, or — for a configuration (a pod split, a step plan) — runs it on the
simulator with fixed seeds and judges what clients saw.  Wrong answers are told
why, with the measured numbers.

Helpers the lab uses too:

``fresh_lab(routing, seed)``          the lab's cluster: stable 2.0 × 10, an empty canary,
                                      and the Gateway + HTTPRoute or the one Service
``run_canary(image, steps, analysis)`` one measured canary release → (TrafficRun, StrategyResult)
"""

from __future__ import annotations

import math
from typing import Optional

from .. import strategies as st
from ..errors import ReleaseLabError
from ._core import Verdict, failed, missing, passed, unanswered

RPS = 100
TOTAL = 10
GOOD, BAD = "releaselab/web:2.1", "releaselab/web:2.1-bad"
SEED = 3


def fresh_lab(routing: str = "gateway", seed: int = SEED, echo: bool = False):
    """Stable 2.0 with 10 replicas, the canary Deployment at 0, and the routing for ``routing``."""
    from ..lab import Lab

    lab = Lab(seed=seed, echo=echo)
    lab.apply("canary/stable.yaml")
    lab.apply("canary/canary.yaml")
    lab.apply("canary/gateway.yaml" if routing == "gateway" else "canary/service.yaml")
    lab.wait_available("web-stable")
    return lab


def target_of(routing: str) -> str:
    return "gateway/web" if routing == "gateway" else "web"


def run_canary(image: str, steps, analysis, routing: str = "gateway", seed: int = SEED,
               quiet: bool = True, tail_s: float = 5.0):
    """Release ``image`` with ``steps`` and ``analysis`` at 100 req/s: (TrafficRun, result)."""
    import contextlib
    import io

    lab = fresh_lab(routing, seed)
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


# ------------------------------------------------------------------------------ exercises

def replica_split(canary_pods, stable_pods, weight: int = 5, total: int = TOTAL) -> Verdict:
    """Exercise 1: ``total`` pods behind one Service, as close to ``weight`` % as they allow."""
    if unanswered(canary_pods, stable_pods):
        return missing("set canary_pods and stable_pods")
    if not all(isinstance(x, int) and x >= 0 for x in (canary_pods, stable_pods)):
        return failed(f"pod counts are whole numbers >= 0, not {canary_pods!r} / {stable_pods!r}")
    if canary_pods + stable_pods != total:
        return failed(f"{canary_pods} + {stable_pods} = {canary_pods + stable_pods} pods: the "
                      f"exercise keeps the fleet at {total} (a canary takes a stable pod's place)")
    if canary_pods == 0:
        return failed("0 canary pods send 0 % of the traffic to 2.1: that is no canary at all")
    lab = fresh_lab("replicas", echo=False)
    lab.set_image("web-canary", GOOD)
    lab.scale("web-canary", canary_pods)
    lab.scale("web-stable", stable_pods)
    lab.wait_available("web-canary")
    lab.wait_available("web-stable")
    with lab.traffic(rps=RPS, target="web") as run:
        lab.wait(30)
    measured = _share(run.requests, "2.1")
    best_c, best_s = st.replicas_for_weight(weight, total)
    if (canary_pods, stable_pods) != (best_c, best_s):
        return failed(f"{canary_pods} canary pods of {total} measured {measured:.1f} % of "
                      f"{len(run.requests)} requests on 2.1 (pod share "
                      f"{st.effective_weight(canary_pods, stable_pods):.0f} %); {best_c} of "
                      f"{total} comes closer to {weight} %")
    exact = 100 // math.gcd(100, weight)
    return passed(f"{canary_pods} of {total} pods: measured {measured:.1f} % of "
                  f"{len(run.requests)} requests on 2.1 — the nearest {total} pods allow. "
                  f"Exactly {weight} % by pods needs {exact} pods in all "
                  f"({exact * weight // 100} of {exact}); a weighted route does it with any "
                  "pod count")


def caught_at_first_step(result, run) -> Verdict:
    """Exercise 2: the bad canary is rolled back automatically at its first weight (5 %)."""
    if unanswered(result, run):
        return missing("run canary(...) with steps and an analysis inside the traffic run, "
                       "and name its result `result`")
    status = getattr(result, "status", None)
    failures = [q for q in run.requests if not q.ok]
    if status == "promoted":
        return failed(f"2.1-bad was PROMOTED: {len(failures)} of {len(run.requests)} requests "
                      "failed. Without an analysis the steps are only a timer — pass "
                      "analysis=Analysis(...)")
    if status == "paused":
        return failed(f"the canary paused instead of deciding: {result.reason}. At 5 % of "
                      f"{RPS} req/s the canary gets ~{RPS * 0.05:g} requests a second: make the "
                      "pause long enough to collect min_requests")
    if status != "rolled_back":
        return failed(f"the release ended {status!r}: {getattr(result, 'reason', '')}")
    if result.weight != 5:
        return failed(f"rolled back, but at {result.weight} %, not at the first 5 % step: "
                      f"{len(failures)} requests failed on the way; begin the plan with "
                      "set_weight(5) and analyse during its pause")
    on_bad = sum(1 for q in failures if q.version == "2.1-bad")
    return passed(f"rolled back at 5 % (step {result.step}), "
                  f"{result.decided_at - result.started:.1f} s after the release began; "
                  f"{len(failures)} of {len(run.requests)} requests failed ({on_bad} of them "
                  f"answered by 2.1-bad, which {result.new_requests} requests reached)")


def blast_radius_vs_big_bang(canary_run, big_bang_run, big_bang=None) -> Verdict:
    """Exercise 3: the same bad release all at once fails many more users than the canary."""
    if unanswered(canary_run, big_bang_run, big_bang):
        return missing("release 2.1-bad all at once (one step at weight 100) and name its "
                       "result `big_bang`")
    if not any(q.version == "2.1-bad" for q in canary_run.requests):
        return missing("no request of `canary_run` reached 2.1-bad: do exercise 2 first")
    a = sum(1 for q in canary_run.requests if not q.ok)
    b = sum(1 for q in big_bang_run.requests if not q.ok)
    reached = sum(1 for q in big_bang_run.requests if q.version == "2.1-bad")
    if reached < 0.5 * len(big_bang_run.requests) * 0.1:
        return failed(f"only {reached} of {len(big_bang_run.requests)} big-bang requests reached "
                      "2.1-bad: a big bang sends everyone to the new version (weight 100)")
    if b <= a:
        return failed(f"the big bang failed {b} requests and the canary {a}: the big bang should "
                      "cost more — did both runs use the same analysis?")
    return passed(f"canary: {a} failed requests; big bang with the same gate: {b} "
                  f"({b / max(a, 1):.0f}× as many) — the weight is the share of users a bad "
                  "release can hurt before the analysis stops it")


def plan_within_budget(steps, analysis, max_failed: int = 10, within_s: float = 180.0,
                       min_requests_floor: int = 20, seeds=(SEED, 7)) -> Verdict:
    """Exercise 4: a plan whose bad release fails at most ``max_failed`` requests and whose good
    release is promoted within ``within_s`` seconds (weighted routing, 100 req/s)."""
    if unanswered(steps, analysis):
        return missing("set my_steps and my_analysis")
    if not isinstance(analysis, st.Analysis):
        return failed(f"my_analysis must be an Analysis(...), not {type(analysis).__name__}: "
                      "without one the canary cannot be stopped")
    if analysis.min_requests < min_requests_floor:
        return failed(f"min_requests={analysis.min_requests}: below {min_requests_floor} a "
                      "verdict rests on a handful of requests (with 10, one unlucky failure is "
                      f"10 %); keep it at {min_requests_floor} or more and lower the exposure "
                      "another way")
    worst, slowest = 0, 0.0
    for seed in seeds:
        try:
            bad_run, bad = run_canary(BAD, steps, analysis, seed=seed)
            good_run, good = run_canary(GOOD, steps, analysis, seed=seed)
        except ReleaseLabError as exc:
            return failed(f"the plan does not run: {exc}")
        n_bad = sum(1 for q in bad_run.requests if not q.ok)
        if not bad.rolled_back:
            return failed(f"seed {seed}: 2.1-bad was not rolled back ({bad.status}: {bad.reason}); "
                          f"{n_bad} requests failed")
        if n_bad > max_failed:
            return failed(f"seed {seed}: 2.1-bad was rolled back at {bad.weight} % but {n_bad} "
                          f"requests failed (budget {max_failed}); {bad.new_requests} reached the "
                          f"canary before it was stopped. Fewer canary requests before the first "
                          "verdict: a lower first weight, a shorter interval, or fewer "
                          "min_requests")
        if not good.promoted:
            return failed(f"seed {seed}: the GOOD release 2.1 was not promoted ({good.status}: "
                          f"{good.reason}) — a plan that stops everything is no release plan")
        if good.seconds > within_s:
            return failed(f"seed {seed}: the good release took {good.seconds:.0f} s to promote "
                          f"(limit {within_s:.0f} s): fewer or shorter pauses")
        worst, slowest = max(worst, n_bad), max(slowest, good.seconds)
    return passed(f"bad release: at most {worst} failed requests (budget {max_failed}); "
                  f"good release promoted in at most {slowest:.0f} s (limit {within_s:.0f} s), "
                  f"over seeds {', '.join(map(str, seeds))}")


def exposure(run, result: Optional[object] = None) -> dict:
    """Numbers the lab prints: requests, failed, answered by the bad version."""
    reqs = list(run.requests)
    return {"requests": len(reqs), "failed": sum(1 for q in reqs if not q.ok),
            "answered by 2.1-bad": sum(1 for q in reqs if q.version == "2.1-bad")}
