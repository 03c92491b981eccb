"""What the checkers say: measured first, then a hint, then the fix — and never a number the
run did not have, never a sentence the next one contradicts.

The cases #13 found (10 % of 4, maxSurge 5, 3.0 waves, a liveness probe for a
readiness probe) are checked against an independent measurement of the same
run.
"""

from __future__ import annotations

import re

import pytest

from releaselab import Lab, manifests
from releaselab.checks import _core, _runs, hint, rolling
from releaselab.checks.rolling import (check_full_capacity, check_prediction,
                                       check_readiness_fix)


@pytest.fixture(autouse=True)
def _fresh_feedback():
    _core._reset()


def numbers(text: str) -> set:
    """Every number a message quotes (ids such as "01.1" and percent signs aside)."""
    text = re.sub(r'hint\("\d\d\.\d"\)', "", text)
    return {float(n) for n in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?", text)}


def runs_of(surge, unavailable):
    return [rolling.simulate_rollout(rolling.rolling_manifest(4, surge, unavailable), seed=s)
            for s in rolling.SEEDS]


# ---------------------------------------------------------------------------- 10 % of 4

def test_ten_percent_of_four_is_zero_then_one_and_the_message_says_so_once():
    verdict = check_full_capacity("0%", "10%")
    runs = runs_of("0%", "10%")
    low = min(run.min_ready for run in runs)
    assert not verdict.passed and low == 3
    message = verdict.message
    assert "'10%' of 4 = 0.4, rounded down to 0 pods" in message
    assert "takes maxUnavailable as 1" in message
    assert f"ready pods fell to {low} of 4" in message
    assert "take 1 old pod out of service" in message
    # the contradiction #13 found: "(= 1 of 4 replicas, rounded down)" next to "resolves to 0"
    assert "= 1 of 4" not in message and "rounded down to 1" not in message
    # every number is the reader's setting, a seed, or measured
    allowed = {0, 10, 4, 0.4, 1, 3, 25, 2} | {float(s) for s in rolling.SEEDS}
    assert numbers(message) <= allowed, numbers(message) - allowed
    # the first answer is not handed the fix
    assert "maxUnavailable: 0" not in message and verdict.level == _core.MEASURED


def test_capacity_message_numbers_come_from_the_run():
    verdict = check_full_capacity(1, 3)
    runs = runs_of(1, 3)
    low = min(run.min_ready for run in runs)
    lost = round(100 * (4 - low) / 4)
    assert f"fell to {low} of 4" in verdict.message and f"{lost} % of capacity" in verdict.message
    allowed = {1, 3, 4, low, lost} | {float(s) for s in rolling.SEEDS}
    assert numbers(verdict.message) <= allowed


# ---------------------------------------------------------------------------- maxSurge 5

def test_max_surge_five_reports_the_eight_pods_the_replicasets_really_asked_for():
    verdict = check_full_capacity(5, 0)
    runs = runs_of(5, 0)
    spec = max(_runs.spec_peak(run.lab.timeline, "web", run.run.start) for run in runs)
    peak = max(run.summary.peak_pods for run in runs)
    seconds = max(run.seconds for run in runs)
    assert verdict.passed
    assert spec == 8                 # 4 old + 4 new: the new ReplicaSet never exceeds replicas
    assert f"asked for up to {spec} pods at once" in verdict.message
    assert "maxSurge allowed 9, but the new ReplicaSet never grows past the 4 replicas" \
        in verdict.message
    assert f"({peak} existed at the peak" in verdict.message
    assert "up to 9 pods in" not in verdict.message          # #13's contradiction
    assert f"took {seconds:g} s" in verdict.message


def test_spec_peak_reads_the_replicaset_steps():
    run = rolling.simulate_rollout(rolling.rolling_manifest(4, 1, 0))
    sizes, peak = {}, 0
    for step in run.lab.timeline.rs_steps:
        sizes[step.replicaset] = step.to
        peak = max(peak, sum(sizes.values()))
    assert _runs.spec_peak(run.lab.timeline, "web") == peak == 5


# ---------------------------------------------------------------------------- waves 3.0

@pytest.mark.parametrize("waves", [3, 3.0])
def test_whole_waves_given_as_a_float_are_accepted(waves):
    run = rolling.simulate_rollout(rolling.rolling_manifest(**rolling.PREDICTION))
    verdict = check_prediction(waves, 6 / 2 * 5.3)
    assert verdict.passed, verdict.message
    assert f"{run.waves} waves in {run.seconds:g} s measured (you said 3 and" in verdict.message


@pytest.mark.parametrize("waves", [3.5, float("nan"), float("inf"), "3", None, True, 0, -3])
def test_waves_that_are_not_a_whole_number_get_one_line(waves):
    verdict = check_prediction(waves, 15)
    assert not verdict.passed and verdict.answered
    assert verdict.message.startswith(f"predicted_waves={waves!r}: expected a whole number")


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1, 0, "15", None])
def test_nan_and_infinite_seconds_are_wrong_answers(seconds):
    verdict = check_prediction(3, seconds)
    assert not verdict.passed
    assert "expected the duration as a finite number of seconds" in verdict.message


def test_prediction_message_numbers_are_measured():
    verdict = check_prediction(4, 10)
    run = rolling.simulate_rollout(rolling.rolling_manifest(**rolling.PREDICTION))
    grew = _runs.growth_times(run.lab.timeline, "web", run.run.start)
    tolerance = max(0.15 * run.seconds, 1.0)
    per_wave = run.seconds / run.waves
    allowed = ({4, 10, run.waves, run.seconds, round(per_wave, 2),
                round(run.seconds - tolerance, 1), round(run.seconds + tolerance, 1)}
               | set(grew))
    assert numbers(verdict.message) <= allowed, numbers(verdict.message) - allowed


# ---------------------------------------------------------------------------- liveness

def _with_liveness(**probe):
    docs = manifests.load(rolling.NO_PROBE)
    docs[0]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1,
        "failureThreshold": 1, **probe}
    return docs


def test_a_liveness_probe_instead_of_a_readiness_probe_is_explained():
    docs = _with_liveness()
    verdict = check_readiness_fix(docs)
    # measure the same thing independently: the pods the kubelet keeps killing
    lab = Lab("sim", echo=False, seed=rolling.SEEDS[0])
    lab.apply(docs)
    lab.wait(rolling.STALL_WATCH_S)
    restarts = sum(p.restarts for p in lab.timeline.pods_of("web"))
    assert not verdict.passed and restarts > 0
    assert f"restarted {restarts} times" in verdict.message
    assert "A liveness probe does not say when a pod may get traffic" in verdict.message
    assert "KILL the container" in verdict.message
    assert "does not listen until 3 s after it starts" in verdict.message
    assert "readinessProbe" not in verdict.message          # the fix comes last
    assert "readinessProbe" in verdict.fix_text


def test_a_liveness_probe_that_waits_still_does_not_gate_traffic():
    verdict = check_readiness_fix(_with_liveness(initialDelaySeconds=10))
    assert not verdict.passed
    assert "without a readiness probe" in verdict.message
    assert "it does not keep traffic away from a starting pod" in verdict.message


# ---------------------------------------------------------------------------- escalation

def test_help_escalates_with_different_wrong_answers_and_hint_requests():
    first = check_full_capacity(1, 3)
    assert first.level == _core.MEASURED
    assert repr(first).endswith('(stuck? hint("01.1") gives a hint)')
    assert "Hint" not in repr(first) and "Fix" not in repr(first)
    again = check_full_capacity(1, 3)                  # the same answer: the same verdict
    assert repr(again) == repr(first)
    second = check_full_capacity(0, 1)                 # a different wrong answer: the hint
    assert second.level == _core.HINT and f"💡 Hint: {second.hint_text}" in repr(second)
    assert "🔧" not in repr(second)
    assert repr(second).endswith('(still stuck? hint("01.1") shows the fix)')
    for guess in ((2, 2), (0, 3), (1, 2)):            # guessing on never brings the fix
        later = check_full_capacity(*guess)
        assert later.level == _core.HINT and "🔧" not in repr(later), guess
    fix = hint("01.1")                                 # asking for it does
    assert f"🔧 Fix: {later.fix_text}" in fix
    assert check_full_capacity(1, 0).passed


def test_the_fix_comes_from_hint_twice_and_never_from_wrong_answers_alone():
    first = check_prediction(4, 10)
    assert "💡" not in repr(first) and "🔧" not in repr(first)
    assert "🔧" not in hint("01.2")                   # once: the hint
    assert "🔧 Fix:" in hint("01.2")                  # twice: the fix


def test_every_exercise_has_a_hint_of_its_own_for_replies_without_one():
    import releaselab.checks.bluegreen, releaselab.checks.canary  # noqa: F401,E401
    import releaselab.checks.shutdown, releaselab.checks.two_versions  # noqa: F401,E401
    assert all(ex.hint for ex in _core.EXERCISES.values()), \
        [ex.id for ex in _core.EXERCISES.values() if not ex.hint]
    wrong_type = check_prediction("three", 10)         # an argument check has no hint itself
    assert wrong_type.hint_text == _core.EXERCISES["01.2"].hint
    assert hint("01.2").startswith("💡 Hint: ")


def test_hint_asks_for_the_next_level():
    check_prediction(4, 10)
    first = hint("01.2")
    assert first.startswith("💡 Hint: ") and "🔧" not in first
    second = hint()                                    # the last exercise checked
    assert "🔧 Fix: waves = ceil(replicas / maxSurge)" in second
    again = check_prediction(4, 10)                    # re-run: now shows what was asked for
    assert "🔧 Fix:" in repr(again)


def test_hint_never_raises_and_says_what_to_do():
    assert "no exercise has been checked yet" in hint()
    assert "no exercise '99.9'" in hint("99.9")
    assert "no exercise 7" in hint(7)
    assert "run exercise 01.3's check cell first" in hint("01.3")
    check_full_capacity(1, 0)
    assert hint("01.1").startswith("✅ exercise 01.1 passed already")
    unanswered = check_full_capacity(..., ...)
    assert unanswered.status == "unanswered"
    assert hint("01.1").startswith("💡 Hint: maxSurge says")
    assert repr(hint("01.1")) == str(hint("01.1"))     # shown as text, without quotes


def test_a_checker_called_with_wrong_argument_names_says_which_it_takes():
    from releaselab.checks import bluegreen
    verdict = bluegreen.bad_release_never_reached_users(result=None, run=None, runn=1)
    assert verdict.status == "fail" and not verdict.internal_error
    assert verdict.message.startswith("bad_release_never_reached_users: got an unexpected "
                                      "keyword argument 'runn'; its arguments are result, run")
    too_many = check_full_capacity(1, 0, 4, 5)
    assert too_many.status == "fail" and "too many positional arguments" in too_many.message


def test_a_liveness_probe_of_the_default_threshold_reports_the_restarts_it_caused():
    """Student report: liveness only (periodSeconds 1, failureThreshold 3) failed 100 % and
    the reply did not say the containers were restarted."""
    docs = manifests.load(rolling.NO_PROBE)
    docs[0]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"] = {
        "httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1}
    verdict = check_readiness_fix(docs)
    runs = [rolling.simulate_rollout(docs, seed=s) for s in rolling.SEEDS]
    restarts = sum(p.restarts for run in runs for p in run.lab.timeline.pods_of("web"))
    assert restarts > 0 and not verdict.passed
    assert f"restarted the containers {restarts} times over the 3 runs" in verdict.message


def test_an_exec_readiness_probe_that_always_passes_is_diagnosed_as_ready_too_early():
    docs = manifests.load(rolling.NO_PROBE)
    docs[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["true"]}, "periodSeconds": 1}
    verdict = check_readiness_fix(docs)
    runs = [rolling.simulate_rollout(docs, seed=s) for s in rolling.SEEDS]
    new = [p for run in runs for p in _runs.pods_of_version(run.lab.timeline, "web", "3.1")]
    early = _runs.seconds_running_before_ready(new)
    assert not verdict.passed and early < 3
    assert f"it said Ready {early:.2f} s after each container started" in verdict.message
    assert "exec probe passes when its command exits 0" in verdict.message
    assert "preStop" not in repr(verdict) + (verdict.fix_text or "")


@pytest.mark.parametrize("surge", ["1", "abc%"])
def test_a_percent_string_without_percent_gets_the_api_servers_prefix(surge):
    verdict = check_full_capacity(surge, 0)
    assert not verdict.passed
    assert ('Kubernetes rejects this Deployment — Deployment.apps "web" is invalid: '
            f'spec.strategy.rollingUpdate.maxSurge: Invalid value: "{surge}": a valid percent '
            "string") in verdict.message


def test_counts_agree_with_their_nouns():
    """Student report: '1 requests failed' (03.4); a blue-green summary said '1 waves'."""
    from releaselab._plural import agree, plural
    assert (plural(1, "request"), plural(0, "request"), plural(2, "wave")) == \
        ("1 request", "0 requests", "2 waves")
    assert agree(1, "was", "were") == "was" and agree(3, "was", "were") == "were"
    from releaselab.checks import canary
    from releaselab.strategies import Analysis, steps_for
    verdict = canary.plan_within_budget(steps_for((1, 50, 100), 10),
                                        Analysis(interval_s=1, min_requests=20))
    assert not re.search(r"(?<![\d.])1 requests", repr(verdict)), repr(verdict)
    assert "1 request failed" in verdict.message or "1 request" not in verdict.message


def test_no_message_the_kit_prints_says_one_with_a_plural_noun():
    import pathlib
    src = pathlib.Path(rolling.__file__).parents[1]
    # "N of {total} requests" and "all {n} requests" read right for any total; a bare count
    # as the subject must go through plural().
    pattern = re.compile(r"(?<!of )(?<!all )\{[^{}]*\b(?:len\([^)]*\)|n|count|restarts|waves|failed_n|n_bad|"
                         r"new_requests|logged_out)\} (?:requests|waves|times|users|orders)\b")
    offenders = [f"{p.name}: {m.group(0)}" for p in src.rglob("*.py")
                 for m in pattern.finditer(p.read_text())]
    assert not offenders, offenders


def test_every_exercise_ends_with_a_fix_when_hint_is_asked_twice():
    """Student re-run: 03.1 answered (0, 10) got the hint twice and never a fix."""
    import releaselab.checks.bluegreen, releaselab.checks.canary  # noqa: F401,E401
    import releaselab.checks.shutdown, releaselab.checks.two_versions  # noqa: F401,E401
    from releaselab.checks import canary
    assert all(ex.fix for ex in _core.EXERCISES.values()), \
        [ex.id for ex in _core.EXERCISES.values() if not ex.fix]
    wrong = canary.replica_split(0, 10)
    assert not wrong.passed and "🔧" not in repr(wrong)
    first, second = hint("03.1"), hint("03.1")
    assert "🔧" not in first and "again shows the fix" in first
    assert f"🔧 Fix: {_core.EXERCISES['03.1'].fix}" in second


def test_a_new_wrong_answer_after_the_fix_was_asked_for_does_not_show_it():
    """Student re-run: (0, 0) after hint() twice on another answer showed the fix unasked."""
    check_full_capacity(0, 1)
    hint("01.1"), hint("01.1")
    other = check_full_capacity(0, 0)
    assert "💡 Hint:" in repr(other) and "🔧" not in repr(other)
    assert "🔧 Fix:" in hint("01.1")          # asked for, once its hint is shown
