"""releaselab.strategies on the simulator: gates, automatic rollback, the switch, the rounding."""

import doctest

import pytest

from releaselab import Lab, manifests
from releaselab.checks.canary import fresh_lab
from releaselab.strategies import _steps
from releaselab.errors import UsageError
from releaselab.strategies import (Analysis, blue_green, canary, pause, replicas_for_weight,
                                   rolling, set_weight, steps_for)

ANALYSIS = Analysis(interval_s=5, min_requests=50)


def test_doctests():
    result = doctest.testmod(_steps)
    assert result.attempted > 10 and result.failed == 0


@pytest.mark.parametrize("weight, replicas, expected", [
    (15, 10, (2, 8)), (5, 10, (1, 9)), (10, 10, (1, 9)), (25, 10, (3, 7)), (50, 10, (5, 5)),
    (75, 10, (8, 2)), (100, 10, (10, 0)), (0, 10, (0, 10)), (5, 20, (1, 19)),
    (1, 3, (1, 2)), (99, 10, (9, 1)), (50, 1, (1, 0)), (20, 5, (1, 4)),
])
def test_replicas_for_weight_without_surge(weight, replicas, expected):
    assert replicas_for_weight(weight, replicas) == expected


def test_step_builders_validate():
    with pytest.raises(UsageError):
        set_weight(120)
    with pytest.raises(UsageError):
        pause(-1)
    assert _steps._normalise([{"setWeight": 5}, {"pause": {"duration": 10}}, {"pause": {}}]) \
        == [set_weight(5), pause(10), pause()]
    with pytest.raises(UsageError):
        _steps._normalise([{"setweight": 5}])


# --------------------------------------------------------------------------- canary

def canary_lab(routing, seed=3):
    return fresh_lab(routing, seed=seed)


def run_canary(routing, image, **kw):
    lab = canary_lab(routing)
    target = "gateway/web" if routing == "gateway" else "web"
    with lab.traffic(rps=100, target=target) as run:
        lab.wait(2)
        result = canary(lab, image, routing=routing, **kw)
        lab.wait(10)
    return lab, run, result


@pytest.mark.parametrize("routing", ["gateway", "replicas"])
def test_bad_canary_is_rolled_back_at_the_first_step(routing, capsys):
    lab, run, result = run_canary(routing, "releaselab/web:2.1-bad",
                                  steps=steps_for([5, 10, 25, 50, 75, 100], 20), analysis=ANALYSIS)
    assert result.rolled_back and result.weight == 5 and result.step == 2
    assert "analysis failed" in result.reason
    # few users saw the bad version: far fewer than a big-bang release would fail (30 % of all)
    assert 0 < run.failed <= 40
    assert run.failed < 0.02 * run.sent
    # after the rollback nothing reaches the canary any more
    late = [q for q in run.requests if q.t > result.ended and q.version == "2.1-bad"]
    assert late == []
    assert lab.get("Deployment", "web-canary")["spec"]["replicas"] == 0
    assert any(m.category == "rollback" for m in lab.timeline.marks)
    assert "ROLLBACK at 5 %" in capsys.readouterr().out


@pytest.mark.parametrize("routing", ["gateway", "replicas"])
def test_good_canary_is_promoted_with_zero_failures(routing):
    lab, run, result = run_canary(routing, "releaselab/web:2.1", steps=steps_for([5, 25, 100], 15),
                                  analysis=ANALYSIS)
    assert result.promoted, result
    assert run.failed == 0
    stable = lab.get("Deployment", "web-stable")
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == "releaselab/web:2.1"
    assert stable["spec"]["replicas"] == 10
    assert lab.get("Deployment", "web-canary")["spec"]["replicas"] == 0
    last = [q for q in run.requests if q.t > result.ended]
    assert last and all(q.version == "2.1" for q in last)
    assert [m.label for m in lab.timeline.marks if m.category == "step"][:3] == ["5 %", "25 %",
                                                                                   "100 %"]


def test_replica_ratio_pod_counts_follow_the_rounding():
    lab = canary_lab("replicas")
    with lab.traffic(rps=50, target="web"):
        result = canary(lab, "releaselab/web:2.1", routing="replicas",
                        steps=[set_weight(15), pause()])
    assert result.status == "paused"
    assert lab.get("Deployment", "web-canary")["spec"]["replicas"] == 2
    assert lab.get("Deployment", "web-stable")["spec"]["replicas"] == 8


def test_no_analysis_promotes_even_a_bad_canary():
    _, run, result = run_canary("gateway", "releaselab/web:2.1-bad", steps=steps_for([50], 5))
    assert result.promoted and run.failed > 100     # a time-based canary without a gate
    # Student re-run: it said "every step passed" although nothing judged any step.
    assert result.reason.startswith("every step completed (no analysis judged it)")
    assert "passed" not in result.reason


def test_the_plan_line_and_the_pods_line_say_counts_in_words(capsys):
    lab = fresh_lab("gateway", echo=False)
    canary(lab, "releaselab/web:2.1", steps=[set_weight(100)])
    assert "via web-canary, 1 step, routing" in capsys.readouterr().out
    steady = Lab(echo=False)
    steady.apply("rolling/web.yaml")
    steady.wait_available("web")
    with steady.traffic(rps=20) as quiet:
        steady.wait(5)
    replicas = steady.get("Deployment", "web")["spec"]["replicas"]
    text = repr(quiet.summary("web"))
    assert f"{replicas} ready throughout" in text and "between" not in text


def test_inconclusive_analysis_pauses_like_argo():
    _, _, result = run_canary("gateway", "releaselab/web:2.1",
                              steps=steps_for([5, 100], 5), analysis=ANALYSIS)
    assert result.status == "paused" and "not enough data" in result.reason


def test_failure_limit_tolerates_failed_measurements():
    _, run0, r0 = run_canary("gateway", "releaselab/web:2.1-bad", steps=steps_for([10], 60),
                             analysis=Analysis(interval_s=5, min_requests=30))
    _, run2, r2 = run_canary("gateway", "releaselab/web:2.1-bad", steps=steps_for([10], 60),
                             analysis=Analysis(interval_s=5, min_requests=30, failure_limit=2))
    assert r0.rolled_back and r2.rolled_back
    assert r2.decided_at - r0.decided_at == pytest.approx(10, abs=0.01)   # two more intervals
    assert run2.failed > run0.failed


# --------------------------------------------------------------------------- blue-green

def bg_lab(seed=2, **kw):
    lab = Lab(seed=seed, echo=False, **kw)
    lab.apply("blue-green/blue.yaml")
    lab.apply("blue-green/services.yaml")
    lab.apply("blue-green/green.yaml")
    lab.scale("web-green", 0)
    lab.wait_available("web-blue")
    return lab


def test_blue_green_switch_drops_zero_requests():
    lab = bg_lab()
    with lab.traffic(rps=200) as run:
        lab.wait(2)
        result = blue_green(lab, "releaselab/web:1.1", pre_promotion=ANALYSIS)
        lab.wait(5)
    assert result.promoted and run.failed == 0
    versions = [q.version for q in run.requests]
    assert versions[0] == "1.0" and versions[-1] == "1.1"
    switch = next(m.t for m in lab.timeline.marks if m.label.startswith("switch"))
    old_after = [q.t - switch for q in run.requests if q.t > switch and q.version == "1.0"]
    assert old_after and max(old_after) < 0.5          # kube-proxy's 0.30 s, then only green
    assert lab.get("Deployment", "web-blue")["spec"]["replicas"] == 0
    assert run.summary().peak_pods == 8


def test_blue_green_post_promotion_failure_switches_back():
    lab = bg_lab()
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        result = blue_green(lab, "releaselab/web:1.1-bad", post_promotion=ANALYSIS)
        lab.wait(5)
    assert result.rolled_back and "switched back" in result.reason
    assert lab.get("Service", "web")["spec"]["selector"]["color"] == "blue"
    assert lab.get("Deployment", "web-green")["spec"]["replicas"] == 0
    assert all(q.version == "1.0" for q in run.requests if q.t > result.decided_at + 0.5)
    assert 50 < run.failed < 400


def test_blue_green_pre_promotion_failure_never_reaches_users():
    lab = bg_lab()
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        result = blue_green(lab, "releaselab/web:1.1-bad", pre_promotion=ANALYSIS)
    assert result.status == "aborted" and run.failed == 0 and result.new_requests == 0
    assert lab.get("Service", "web")["spec"]["selector"]["color"] == "blue"


def test_blue_green_without_room_aborts_with_pending_pods():
    lab = bg_lab(workers=1, node_cpu="500m")
    with lab.traffic(rps=50) as run:
        result = blue_green(lab, "releaselab/web:1.1", available_timeout_s=30)
    assert result.status == "aborted" and "Pending" in result.reason
    assert "Insufficient cpu" in result.reason and run.failed == 0


def test_scale_down_delay_covers_endpoint_propagation():
    """Without a preStop sleep, scaling blue down at the switch refuses requests; 30 s does not."""
    failed = {}
    for delay in (0, 30):
        lab = Lab(seed=2, echo=False)
        docs = manifests.load("blue-green/blue.yaml") + manifests.load("blue-green/green.yaml")
        for d in docs:
            d["spec"]["template"]["spec"]["containers"][0].pop("lifecycle")
        docs[1]["spec"]["replicas"] = 0
        lab.apply(docs)
        lab.apply("blue-green/services.yaml")
        lab.wait_available("web-blue")
        with lab.traffic(rps=100) as run:
            lab.wait(2)
            blue_green(lab, "releaselab/web:1.1", scale_down_delay_s=delay)
            lab.wait(10)
        failed[delay] = run.failed
    assert failed[0] > 0 and failed[30] == 0


# --------------------------------------------------------------------------- rolling

def rolling_lab():
    lab = Lab(seed=3, echo=False)
    docs = manifests.load("rolling/web.yaml")
    docs[0]["spec"]["replicas"] = 10
    docs[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "releaselab/web:2.0"
    lab.apply(docs)
    lab.wait_available("web")
    return lab


def test_rolling_with_analysis_undoes_a_bad_release():
    lab = rolling_lab()
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        result = rolling(lab, "web", "releaselab/web:2.1-bad", analysis=ANALYSIS)
        lab.wait(5)
    assert result.rolled_back
    image = lab.get("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "releaselab/web:2.0"
    assert run.failed > 0 and all(q.version == "2.0" for q in run.requests if q.t > result.ended)


def test_rolling_good_release_passes():
    lab = rolling_lab()
    with lab.traffic(rps=100) as run:
        result = rolling(lab, "web", "releaselab/web:2.1", analysis=ANALYSIS, observe_s=10)
    assert result.promoted and run.failed == 0


def _blue_green_lab():
    from releaselab.checks.bluegreen import fresh_lab as bg_fresh_lab
    return bg_fresh_lab(green=False)


@pytest.mark.parametrize("call, first_words", [
    (lambda lab: blue_green(lab, "releaselab/web:1.1-bad", pre_promotion=True),
     "blue_green(pre_promotion=True): expected an Analysis(...)"),
    (lambda lab: blue_green(lab, "releaselab/web:1.1", post_promotion=Analysis),
     "blue_green(post_promotion=<class"),
    (lambda lab: blue_green(lab, "releaselab/web:1.1", prepromotion=ANALYSIS),
     "blue_green(prepromotion=...): got an unexpected keyword argument 'prepromotion'"),
    (lambda lab: blue_green(lab, "releaselab/web:1.1", smoke_s="10"),
     "blue_green(smoke_s='10'): must be a number of seconds"),
    (lambda lab: blue_green(lab, "releaselab/web:1.1", deployments="web-blue"),
     "deployments: name the two colours"),
    (lambda lab: blue_green(lab, 1.1), "blue_green(image=1.1)"),
    (lambda lab: canary(lab, "releaselab/web:2.1", analysis=True), "canary(analysis=True)"),
    (lambda lab: canary(lab, "releaselab/web:2.1", pre_promotion=ANALYSIS),
     "canary(pre_promotion=...): got an unexpected keyword argument"),
    (lambda lab: canary(lab, "releaselab/web:2.1", steps=5), "steps=5: a list of steps"),
    (lambda lab: canary(lab, "releaselab/web:2.1", steps=[{"pause": 5}]), "steps[0] = "),
    (lambda lab: rolling(lab, "web", "releaselab/web:3.1", analysis={}), "rolling(analysis={})"),
    (lambda lab: rolling(lab, "web", "x", observe=3), "rolling(observe=...)"),
    (lambda lab: Analysis(intervall_s=5), "Analysis(intervall_s=...): got an unexpected"),
    (lambda lab: Analysis(min_requests="50"), "Analysis(min_requests='50')"),
    (lambda lab: Analysis(interval_s=float("nan")), "Analysis(interval_s=nan)"),
    (lambda lab: Analysis(alpha=2), "Analysis(alpha=2)"),
    (lambda lab: steps_for(5, 10), "steps_for(weights=5)"),
    (lambda lab: steps_for([5], 10, 3), "steps_for(): too many positional arguments"),
    (lambda lab: pause(float("nan")), "pause(nan)"),
    (lambda lab: set_weight(weight=5, pause=3), "set_weight(weight=..., pause=...)"),
    (lambda lab: replicas_for_weight(5), "replicas_for_weight(): missing a required argument"),
])
def test_wrong_strategy_arguments_are_one_usage_error_line(call, first_words):
    """Never Python's TypeError: one ReleaseLabError line that says what to pass (#11)."""
    lab = _blue_green_lab()
    with pytest.raises(UsageError) as caught:
        call(lab)
    message = str(caught.value)
    assert message.startswith(first_words), message
    assert "\n" not in message
