"""Checkers of labs 02 (blue-green) and 03 (canary): right answers pass, wrong ones are told why."""

import pytest

from releaselab import Lab
from releaselab.checks import bluegreen as bg
from releaselab.checks import canary as ck
from releaselab.checks import _core
from releaselab.strategies import Analysis, blue_green, pause, set_weight, steps_for


@pytest.fixture(autouse=True)
def _fresh_feedback():
    """Each test starts with no earlier answers (help escalates per kernel, i.e. per process)."""
    _core._reset()


def green_lab(**kw):
    lab = Lab(seed=2, echo=False, **kw)
    lab.apply("blue-green/blue.yaml")
    lab.apply("blue-green/services.yaml")
    lab.apply("blue-green/green.yaml")
    return lab


@pytest.fixture
def both_colours():
    lab = green_lab()
    lab.wait_available("web-blue")
    lab.wait_available("web-green")
    return lab


def test_unanswered_everywhere():
    for verdict in (bg.preview_verified(...), bg.switch_dropped_nothing(...),
                    bg.no_room_for_green(..., ...), bg.bad_release_never_reached_users(..., ...),
                    ck.replica_split(..., ...), ck.caught_at_first_step(..., ...),
                    ck.blast_radius_vs_big_bang(..., ..., ...), ck.plan_within_budget(..., ...)):
        assert not verdict.answered and "not answered yet" in repr(verdict)


def test_preview_verified(both_colours):
    lab = both_colours
    with lab.traffic(rps=20, target="web-preview") as preview:
        lab.wait(10)
    assert bg.preview_verified(preview)
    with lab.traffic(rps=20, target="web") as active:
        lab.wait(10)
    wrong = bg.preview_verified(active)
    assert not wrong and "went to 'web'" in wrong.message and "1.0 × 200" in wrong.message
    assert "web-preview" in wrong.fix_text and "web-preview" not in wrong.message
    with lab.traffic(rps=20, target="web-preview") as short:
        lab.wait(1)
    assert "too few" in bg.preview_verified(short).message


def test_switch_dropped_nothing(both_colours):
    lab = both_colours
    with lab.traffic(rps=100) as idle:
        lab.wait(3)
    assert not bg.switch_dropped_nothing(idle).answered
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        web = lab.get("Service", "web")
        web["spec"]["selector"]["color"] = "green"
        lab.apply(web)
        lab.mark("switch")
        lab.wait(5)
    verdict = bg.switch_dropped_nothing(run)
    assert verdict and "0 failed" in verdict.message
    assert "0.29 s after the switch" in verdict.message


def _switch(lab, colour="green"):
    web = lab.get("Service", "web")
    web["spec"]["selector"]["color"] = colour
    lab.apply(web)


def test_a_switch_made_before_the_run_fails(both_colours):
    # kube-proxy still uses its old rules for ~0.30 s after the selector
    # changed, so a run started right after the switch begins with 1.0 answers
    # and then only 1.1: it looks switched, but the run never saw the switch.
    lab = both_colours
    _switch(lab)
    with lab.traffic(rps=100) as run:
        lab.wait(5)
        lab.mark("switch")             # the lab cell's mark, after a switch made too early
        lab.wait(10)
    assert run.failed == 0 and {q.version for q in run.requests} == {"1.0", "1.1"}
    verdict = bg.switch_dropped_nothing(run)
    assert verdict.answered and not verdict.passed
    assert "the selector was changed before the run" in verdict.message
    assert "inside the `with" in verdict.fix_text and "inside the `with" not in verdict.message
    # Long before the run: every request answered by 1.1 — no switch seen either.
    lab.wait(10)
    with lab.traffic(rps=100) as late:
        lab.wait(5)
    verdict = bg.switch_dropped_nothing(late)
    assert not verdict.passed and "never saw users move from 1.0 to 1.1" in verdict.message


def test_a_switch_without_the_mark_reports_when_versions_changed(both_colours):
    lab = both_colours
    with lab.traffic(rps=100) as run:
        lab.wait(3)
        _switch(lab)
        lab.wait(5)
    verdict = bg.switch_dropped_nothing(run)
    assert verdict.passed and "1.0 answered until 3.29 s into the run" in verdict.message


def test_switch_to_a_colour_without_pods_fails():
    lab = green_lab()
    lab.scale("web-green", 0)
    lab.wait_available("web-blue")
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        web = lab.get("Service", "web")
        web["spec"]["selector"]["color"] = "green"
        lab.apply(web)
        lab.wait(2)
        web["spec"]["selector"]["color"] = "blue"       # back, so a 1.1 answer never comes
        lab.apply(web)
        lab.wait(2)
    verdict = bg.switch_dropped_nothing(run)
    assert run.failed > 0                           # refused: the Service had no endpoints
    assert verdict.status == "fail" and f"{run.failed} of {run.sent} requests failed" \
        in verdict.message and "none reached 1.1" in verdict.message


def test_a_selector_typo_is_reported_as_the_outage_it_caused(both_colours):
    """#13 student report: 'greem' refused 970 requests; the reply said all were answered."""
    lab = both_colours
    with lab.traffic(rps=100) as run:
        lab.wait(5)
        web = lab.get("Service", "web")
        web["spec"]["selector"]["color"] = "greem"
        lab.apply(web)
        lab.wait(10)
    verdict = bg.switch_dropped_nothing(run)
    summary = run.summary()
    assert verdict.status == "fail"
    assert f"{summary.failed} of {summary.sent} requests failed" in verdict.message
    assert f"refused {summary.by_cause['refused']}" in verdict.message
    assert "'color': 'greem'" in verdict.message and "which 0 pods match" in verdict.message
    assert "answered by 1.0" not in verdict.message


def test_fresh_lab_sets_up_quietly_and_echoes_the_readers_calls(capsys):
    lab = bg.fresh_lab(seed=2, echo=True)
    assert capsys.readouterr().out == ""
    web = lab.get("Service", "web")
    web["spec"]["selector"]["color"] = "green"
    lab.apply(web)
    assert "$ kubectl" in capsys.readouterr().out
    quiet = ck.fresh_lab("gateway", echo=False)
    quiet.scale("web-canary", 1)
    assert capsys.readouterr().out == ""
    loud = ck.fresh_lab("gateway", echo=True)
    loud.scale("web-canary", 1)
    assert "kubectl" in (out := capsys.readouterr().out) and "deployment/web-canary" in out


def _switch_back(lab):
    """The lab's rollback cell: (the run, when web was set to blue, the colour it had)."""
    with lab.traffic(rps=100) as back:
        lab.wait(2)
        web = lab.get("Service", "web")
        was = web["spec"]["selector"]["color"]
        web["spec"]["selector"]["color"] = "blue"
        lab.apply(web)
        at = lab.now()
        lab.wait(5)
    return back, at, was


def test_switch_back_report_says_only_what_happened(both_colours):
    lab = both_colours
    back, at, was = _switch_back(lab)               # exercise 2 never switched: web is blue
    text = bg.switch_back_report(back, at, was)
    assert "nothing was switched back" in text and "after the switch back" not in text
    assert text.startswith(f"{back.sent} requests, {back.failed} failed")
    web = lab.get("Service", "web")
    web["spec"]["selector"]["color"] = "green"
    lab.apply(web)
    lab.wait(2)
    back, at, was = _switch_back(lab)
    late = max(q.t - at for q in back.requests if q.t >= at and q.version == "1.1")
    assert f"1.1 answered for {late:.2f} s after the switch back" in \
        bg.switch_back_report(back, at, was)


def test_no_room_for_green():
    small = green_lab(workers=1, node_cpu="500m")
    small.wait(30)
    assert bg.no_room_for_green(small, 3)
    wrong = bg.no_room_for_green(small, 4)
    assert not wrong and "3 of 4 green pods have no node" in wrong.message
    assert "Insufficient cpu" in wrong.message
    # The hint names the listing that shows a NODE column (kubectl get pods -o wide).
    assert "small.pods(wide=True)" in wrong.hint_text and "<none>" in wrong.hint_text
    assert "NODE" in str(small.pods(wide=True)) and "NODE" not in str(small.pods())
    pending = sum(1 for p in small.pods(wide=True) if p["node"] is None)
    assert pending == 3 and bg.no_room_for_green(small, pending)


def _bg_run(image, **kw):
    lab = green_lab()
    lab.scale("web-green", 0)
    lab.wait_available("web-blue")
    with lab.traffic(rps=100) as run:
        lab.wait(2)
        result = blue_green(lab, image, **kw)
        lab.wait(2)
    return result, run


def test_bad_release_never_reached_users(capsys):
    assert bg.bad_release_never_reached_users(
        *_bg_run("releaselab/web:1.1-bad", pre_promotion=Analysis(interval_s=5)))
    late = bg.bad_release_never_reached_users(
        *_bg_run("releaselab/web:1.1-bad", post_promotion=Analysis(interval_s=5)))
    assert not late and "the check ran after the switch" in late.message
    assert "pre_promotion" in late.fix_text and "pre_promotion" not in late.message
    none = bg.bad_release_never_reached_users(*_bg_run("releaselab/web:1.1-bad"))
    assert not none and "promoted" in none.message


def test_a_gate_that_can_only_be_inconclusive_does_not_pass(capsys):
    """10 s of smoke at 20 req/s is 200 requests; 2 s is 40, below min_requests 50: the
    gate aborts every release, the good one too — no catch."""
    result, run = _bg_run("releaselab/web:1.1-bad", pre_promotion=Analysis(interval_s=5),
                          smoke_s=2)
    assert result.status == "aborted"
    verdict = bg.bad_release_never_reached_users(result, run)
    assert verdict.status == "fail" and "inconclusive" in verdict.message
    assert "40 of 50" in verdict.message                        # the run's own numbers
    good, _ = _bg_run("releaselab/web:1.1", pre_promotion=Analysis(interval_s=5), smoke_s=2)
    assert good.status == "aborted"                             # what the message claims


def test_preview_says_the_rate_and_length_it_judged(both_colours):
    lab = both_colours
    with lab.traffic(rps=5, target="web-preview") as slow:
        lab.wait(12)
    verdict = bg.preview_verified(slow)
    assert verdict and "5 req/s for 12.0 s" in verdict.message and "at least 50" in \
        verdict.message
    with lab.traffic(rps=5, target="web-preview") as short:
        lab.wait(3)
    assert "5 req/s for 3.0 s" in bg.preview_verified(short).message


def test_replica_split():
    assert ck.replica_split(1, 9)
    two = ck.replica_split(2, 8)
    assert not two and "2 canary pods of 10 took" in two.message and "5 % was the aim" in two.message
    assert two.fix_text == "canary_pods, stable_pods = 1, 9"
    assert "keeps the fleet at 10" in ck.replica_split(1, 10).message
    assert "no canary at all" in ck.replica_split(0, 10).message


def test_replica_split_follows_argo_where_a_weight_falls_half_way():
    # Argo Rollouts' approximateWeightedCanaryStableReplicaCounts: the closest
    # pod share, an exact half rounding up — 15 % of 10 pods is 1.5 pods, so 2.
    assert ck.nearest_split(15) == (2, 8) and ck.nearest_split(12) == (1, 9)
    assert ck.nearest_split(75, 2) == (1, 1)           # never 0 canary pods
    assert ck.replica_split(2, 8, weight=15)
    fewer = ck.replica_split(1, 9, weight=15)
    assert not fewer and fewer.fix_text == "canary_pods, stable_pods = 2, 8"


def test_caught_at_first_step_and_big_bang():
    analysis = Analysis(interval_s=5)
    run, result = ck.run_canary(ck.BAD, steps_for([5, 10, 25, 50, 75, 100], 20), analysis)
    assert ck.caught_at_first_step(result, run)
    late_run, late = ck.run_canary(ck.BAD, steps_for([25, 50, 100], 20), analysis)
    verdict = ck.caught_at_first_step(late, late_run)
    assert not verdict and "at 25 %" in verdict.message
    free_run, free = ck.run_canary(ck.BAD, steps_for([5, 100], 10), None)
    assert "PROMOTED" in ck.caught_at_first_step(free, free_run).message
    short_run, short = ck.run_canary(ck.BAD, steps_for([5, 100], 5), analysis)
    assert "paused instead of deciding" in ck.caught_at_first_step(short, short_run).message
    bang_run, bang = ck.run_canary(ck.BAD, [set_weight(100), pause(20)], analysis)
    verdict = ck.blast_radius_vs_big_bang(run, bang_run, bang, canary_result=result)
    assert verdict and "as many" in verdict.message
    failed = sum(1 for q in bang_run.requests if not q.ok)
    assert f"{failed} of {len(bang_run.requests)}" in verdict.message


@pytest.fixture(scope="module")
def exercise_2():
    run, result = ck.run_canary(ck.BAD, steps_for([5, 10, 25, 50, 75, 100], 20),
                                Analysis(interval_s=5, min_requests=50))
    return run, result


@pytest.mark.parametrize("steps, analysis, words", [
    ([set_weight(100), pause(20)], None, "without an analysis"),            # no gate at all
    ([set_weight(100)], Analysis(interval_s=5, min_requests=50), "never measured"),  # no pause
    ([set_weight(100), pause(20)], Analysis(interval_s=1, min_requests=20),
     "the big bang's gate is Analysis(interval_s=1, min_requests=20), exercise 2's is "
     "Analysis(interval_s=5, min_requests=50)"),
    ([set_weight(5), pause(20)], Analysis(interval_s=5, min_requests=50), "first weight is 5 %"),
])
def test_big_bang_must_be_a_big_bang_with_the_same_gate(exercise_2, steps, analysis, words):
    """Student report: no gate or no pause passed 'with the same gate'; a different gate got a
    reply about the weight."""
    canary_run, result = exercise_2
    bang_run, bang = ck.run_canary(ck.BAD, steps, analysis)
    verdict = ck.blast_radius_vs_big_bang(canary_run, bang_run, bang, canary_result=result)
    assert verdict.status == "fail" and words in verdict.message, verdict.message
    assert "same gate" not in verdict.message


def test_big_bang_needs_both_results(exercise_2):
    canary_run, result = exercise_2
    verdict = ck.blast_radius_vs_big_bang(canary_run, canary_run, result)
    assert verdict.status == "fail" and "canary_result=result" in verdict.message


def test_plan_within_budget():
    assert ck.plan_within_budget(steps_for([5, 25, 50, 100], 10),
                                 Analysis(interval_s=2, min_requests=20))
    over = ck.plan_within_budget(steps_for([5, 10, 25, 50, 75, 100], 20), Analysis(interval_s=5))
    assert not over and "budget 10" in over.message
    slow = ck.plan_within_budget(steps_for([5, 10, 25, 50, 75, 100], 60),
                                 Analysis(interval_s=2, min_requests=20))
    assert not slow and "more than the 180 s" in slow.message
    noise = ck.plan_within_budget(steps_for([5, 100], 10), Analysis(min_requests=5))
    assert not noise and "below 20" in noise.message
    assert "expected an Analysis(...)" in ck.plan_within_budget(steps_for([5], 10),
                                                                "strict").message


def test_set_image_on_blue_is_a_rolling_update_not_a_switch(both_colours):
    """#13 student report A1: 1.1 reached users by set_image on web-blue, and 02.2 passed."""
    lab = both_colours
    with lab.traffic(rps=100) as run:
        lab.wait(5)
        lab.set_image("web-blue", "releaselab/web:1.1")
        lab.wait_rollout("web-blue")
        lab.wait(5)
    blue_answers = {q.pod for q in run.requests if q.version == "1.1" and q.pod}
    assert blue_answers and all(p.startswith("web-blue-") for p in blue_answers)
    verdict = bg.switch_dropped_nothing(run)
    assert verdict.answered and not verdict.passed
    assert "not web-green's" in verdict.message and "rolling update" in verdict.message
    assert "selector" not in verdict.message        # the fix is for hint() asked twice
