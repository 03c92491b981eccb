"""Lab 01's checkers: a correct answer passes, a wrong one fails with the reason and the
numbers, a placeholder (``...``) is "not answered yet".  The checkers simulate, so the
expected numbers below are measured facts of the simulator, re-derived here where cheap."""

from __future__ import annotations

import math

import pytest

from releaselab import Lab, manifests
from releaselab.checks import rolling
from releaselab.checks import _core
from releaselab.checks.rolling import (check_full_capacity, check_prediction,
                                       check_readiness_fix, check_rollback)


@pytest.fixture(autouse=True)
def _fresh_feedback():
    """Each test starts with no earlier answers (help escalates per kernel, i.e. per process)."""
    _core._reset()


def unanswered(verdict) -> bool:
    return not verdict.answered and not verdict.passed and "not answered yet" in repr(verdict)


# --------------------------------------------------------------------------- helpers

def test_rolling_manifest_changes_only_the_named_fields():
    web = manifests.load(rolling.WEB)
    docs = rolling.rolling_manifest(replicas=6, max_surge="25%", max_unavailable=0,
                                    startup_seconds=5, min_ready_seconds=3)
    deployment = docs[0]
    assert deployment["spec"]["replicas"] == 6
    assert deployment["spec"]["minReadySeconds"] == 3
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
    env = {e["name"]: e.get("value") for e in
           deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["STARTUP_SECONDS"] == "5"
    # everything else is web.yaml's, and web.yaml itself is untouched
    assert docs[1] == web[1]
    assert (deployment["spec"]["template"]["spec"]["securityContext"]
            == web[0]["spec"]["template"]["spec"]["securityContext"])
    assert manifests.load(rolling.WEB) == web


def test_recreate_manifest_has_no_rolling_update_block():
    docs = rolling.rolling_manifest(strategy="Recreate")
    assert docs[0]["spec"]["strategy"] == {"type": "Recreate"}
    run = rolling.simulate_rollout(docs)
    assert run.complete and run.min_ready == 0 and run.failed > 0


def test_simulate_rollout_measures_the_web_yaml_rollout():
    run = rolling.simulate_rollout()
    assert run.complete
    assert run.replicas == 4
    assert run.waves == 4                 # maxSurge 1: one new pod per wave
    assert run.min_ready == 4             # maxUnavailable 0
    assert run.failed == 0
    versions = set(run.summary.by_version)
    assert versions == {"3.0", "3.1"}


# --------------------------------------------------------------------------- exercise 1

@pytest.mark.parametrize("surge, unavailable", [(1, 0), (2, 0), ("25%", "0%"), (4, 0),
                                                 ("50%", "10%")])
def test_full_capacity_passes_any_correct_answer(surge, unavailable):
    verdict = check_full_capacity(surge, unavailable)
    assert verdict.passed, verdict.message
    assert "never dropped below 4" in verdict.message


def test_full_capacity_explains_the_lost_capacity_with_the_numbers():
    verdict = check_full_capacity(1, 3)
    assert not verdict.passed and verdict.answered
    assert ("ready pods fell to 1 of 4 during the rollout (the fewest over seeds 0, 1, 2) — "
            "75 % of capacity gone") in verdict.message
    assert "maxUnavailable = 3 pods" in verdict.message
    assert "take 3 old pods out of service" in verdict.message


def test_full_capacity_one_unavailable():
    verdict = check_full_capacity(0, 1)
    assert not verdict.passed
    assert "fell to 3 of 4" in verdict.message and "25 % of capacity" in verdict.message


def test_full_capacity_percentages_round_down():
    verdict = check_full_capacity(2, "50%")
    assert not verdict.passed
    assert "maxUnavailable '50%' of 4 = 2 pods" in verdict.message
    assert "fell to 2 of 4" in verdict.message and "50 % of capacity" in verdict.message


def test_full_capacity_explains_the_both_zero_rule():
    # 0 % surge and 10 % of 4 = 0.4 -> 0 unavailable: the controller makes it 1
    verdict = check_full_capacity("0%", "10%")
    assert not verdict.passed
    assert "'10%' of 4 = 0.4, rounded down to 0 pods" in verdict.message
    assert "takes maxUnavailable as 1" in verdict.message
    assert "take 1 old pod out of service" in verdict.message
    assert "fell to 3 of 4" in verdict.message


@pytest.mark.parametrize("surge, unavailable, words", [
    (0, 0, "may not be 0 when `maxSurge` is 0"),
    (-1, 0, "must be greater than or equal to 0"),
    ("lots", 0, "a valid percent string"),
])
def test_full_capacity_reports_what_the_api_server_rejects(surge, unavailable, words):
    verdict = check_full_capacity(surge, unavailable)
    assert not verdict.passed and verdict.answered
    assert "Kubernetes rejects" in verdict.message and words in verdict.message


@pytest.mark.parametrize("args", [(..., 0), (1, ...), (..., ...)])
def test_full_capacity_placeholder_is_not_answered(args):
    assert unanswered(check_full_capacity(*args))


# --------------------------------------------------------------------------- exercise 2

@pytest.fixture(scope="module")
def prediction_run():
    return rolling.simulate_rollout(rolling.rolling_manifest(**rolling.PREDICTION))


def test_prediction_settings_are_what_the_lab_says(prediction_run):
    p = rolling.PREDICTION
    assert prediction_run.waves == math.ceil(p["replicas"] / p["max_surge"]) == 3


def test_prediction_passes_on_the_measured_numbers(prediction_run):
    verdict = check_prediction(prediction_run.waves, round(prediction_run.seconds))
    assert verdict.passed, verdict.message
    assert f"{prediction_run.waves} waves in {prediction_run.seconds:g} s" in verdict.message


def test_prediction_accepts_the_pen_and_paper_estimate(prediction_run):
    # 3 waves x (3 s to ready + 2 s minReadySeconds + ~0.2 s) = 15.6 s
    assert check_prediction(3, 15.6).passed


def test_prediction_wrong_waves_gets_the_formula():
    verdict = check_prediction(6, 15.6)
    assert not verdict.passed
    assert "you predicted 6 waves, the run had 3" in verdict.message
    # the formula is the fix: not in the first message, only at the last level of help
    assert "ceil" not in verdict.message
    assert "waves = ceil(replicas / maxSurge) = ceil(6 / 2) = 3" in verdict.fix_text


def test_prediction_forgetting_min_ready_seconds_gets_the_arithmetic(prediction_run):
    verdict = check_prediction(3, 9.6)     # the minReadySeconds were left out
    assert not verdict.passed
    assert f"the rollout took {prediction_run.seconds:g} s" in verdict.message
    # the hint explains where a wave's seconds go, with the run's own figures
    assert "minReadySeconds added 2 s" in verdict.hint_text
    assert "from its creation to Ready" in verdict.hint_text


def test_prediction_with_other_settings_is_measured_too():
    run = rolling.simulate_rollout(rolling.rolling_manifest(replicas=5, max_surge=1))
    assert check_prediction(5, run.seconds, replicas=5, max_surge=1, max_unavailable=0,
                            min_ready_seconds=0).passed
    verdict = check_prediction(5, run.seconds * 2, replicas=5, max_surge=1, max_unavailable=0,
                               min_ready_seconds=0)
    assert not verdict.passed and "you predicted" in verdict.message


@pytest.mark.parametrize("waves, seconds, words", [(2.5, 10, "whole number"),
                                                    (0, 10, "at least 1"),
                                                    (3, "soon", "number of seconds"),
                                                    (3, -1, "number of seconds")])
def test_prediction_rejects_malformed_answers(waves, seconds, words):
    verdict = check_prediction(waves, seconds)
    assert not verdict.passed and verdict.answered and words in verdict.message


@pytest.mark.parametrize("args", [(..., 10), (3, ...)])
def test_prediction_placeholder_is_not_answered(args):
    assert unanswered(check_prediction(*args))


# --------------------------------------------------------------------------- exercise 3

def no_probe():
    return manifests.load(rolling.NO_PROBE)


def container_of(docs):
    return docs[0]["spec"]["template"]["spec"]["containers"][0]


READINESS = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1,
             "failureThreshold": 1}


def test_no_probe_manifest_drops_requests_on_every_seed():
    for seed in rolling.SEEDS:
        run = rolling.simulate_rollout(rolling.NO_PROBE, seed=seed)
        assert run.complete and run.failed > 0
        assert set(run.summary.by_cause) == {"refused"}


def test_readiness_fix_passes_with_a_readiness_probe():
    docs = no_probe()
    container_of(docs)["readinessProbe"] = READINESS
    verdict = check_readiness_fix(docs)
    assert verdict.passed, verdict.message
    assert "0 of" in verdict.message and "requests failed" in verdict.message


def test_readiness_fix_accepts_yaml_text_and_a_startup_probe():
    docs = no_probe()
    container_of(docs)["startupProbe"] = {"httpGet": {"path": "/readyz", "port": 8080},
                                          "periodSeconds": 1, "failureThreshold": 30}
    import yaml

    assert check_readiness_fix(yaml.safe_dump_all(docs)).passed


def test_readiness_fix_without_a_service_borrows_no_probe_s():
    docs = no_probe()
    container_of(docs)["readinessProbe"] = READINESS
    assert check_readiness_fix(docs[0]).passed


def test_unchanged_manifest_fails_with_the_count_and_the_reason():
    verdict = check_readiness_fix(no_probe())
    assert not verdict.passed and verdict.answered
    total = sum(rolling.simulate_rollout(rolling.NO_PROBE, seed=s).failed for s in rolling.SEEDS)
    assert f"{total} of" in verdict.message and f"(refused {total})" in verdict.message
    assert "without a readiness probe" in verdict.message
    assert "minReadySeconds" not in verdict.message


def test_min_ready_seconds_is_not_a_fix_and_the_message_says_why():
    docs = no_probe()
    docs[0]["spec"]["minReadySeconds"] = 5
    verdict = check_readiness_fix(docs)
    assert not verdict.passed
    assert "minReadySeconds does not help" in verdict.message


def test_making_the_app_start_faster_is_not_the_fix():
    docs = no_probe()
    for var in container_of(docs)["env"]:
        if var["name"] == "STARTUP_SECONDS":
            var["value"] = "0"
    verdict = check_readiness_fix(docs)
    assert not verdict.passed and "changes the application" in verdict.message


def test_probe_on_a_path_the_app_does_not_serve_is_refused():
    docs = no_probe()
    container_of(docs)["readinessProbe"] = {**READINESS, "httpGet": {"path": "/ready",
                                                                     "port": "http"}}
    verdict = check_readiness_fix(docs)
    assert not verdict.passed and "'/ready'" in verdict.message and "404" in verdict.message


def test_probe_on_the_wrong_port_is_refused():
    docs = no_probe()
    container_of(docs)["readinessProbe"] = {**READINESS, "httpGet": {"path": "/readyz",
                                                                     "port": 9090}}
    verdict = check_readiness_fix(docs)
    assert not verdict.passed and "port 9090" in verdict.message


def test_readiness_fix_reports_an_invalid_manifest():
    verdict = check_readiness_fix({"kind": "Service", "metadata": {"name": "x"}})
    assert not verdict.passed and "expected a Deployment" in verdict.message


def test_readiness_fix_placeholder_is_not_answered():
    assert unanswered(check_readiness_fix(...))


# --------------------------------------------------------------------------- exercise 4

def bad_rollout(seed=4):
    return rolling.bad_release(seed, echo=False, backend="sim")


def test_rollback_passes_after_undo_and_clean_traffic():
    lab = bad_rollout()
    with lab.traffic(rps=50) as run:
        lab.rollout_undo("web")
        lab.wait_rollout("web")
        lab.wait_settled("web")
        lab.wait(5)
    verdict = check_rollback(lab, run)
    assert verdict.passed, verdict.message
    assert "rolled back to releaselab/web:3.0" in verdict.message
    assert " 0 failed" in verdict.message


def test_rollback_untouched_lab_is_not_answered():
    lab = bad_rollout()
    with lab.traffic(rps=50) as run:
        lab.wait(5)
    verdict = check_rollback(lab, run)
    assert unanswered(verdict)
    assert "still runs releaselab/web:3.1-bad" in verdict.message


def test_rollback_placeholder_is_not_answered():
    assert unanswered(check_rollback(bad_rollout(), ...))


def test_rollback_not_waited_for_names_the_pods_left():
    lab = bad_rollout()
    with lab.traffic(rps=50) as run:
        lab.rollout_undo("web")
        lab.wait(3)
    verdict = check_rollback(lab, run)
    assert not verdict.passed and verdict.answered
    assert "of 3.1-bad still existed when rollback_run ended" in verdict.message


def test_rollback_needs_traffic_after_the_rollback():
    lab = bad_rollout()
    with lab.traffic(rps=50) as run:
        lab.rollout_undo("web")
        lab.wait_rollout("web")
        lab.wait_settled("web")
    verdict = check_rollback(lab, run)
    assert not verdict.passed and "only 0 requests were sent" in verdict.message


def test_rollback_without_the_bad_release_says_so():
    lab = Lab(echo=False)
    lab.apply(rolling.WEB)
    lab.wait_available("web")
    with lab.traffic(rps=50) as run:
        lab.set_image("web", rolling.NEW_IMAGE)
        lab.wait_rollout("web")
        lab.wait(5)
    verdict = check_rollback(lab, run)
    assert not verdict.passed and "no request was answered by" in verdict.message


def test_rollback_counts_the_errors_after_it():
    # "rolling back" to another bad image: pods of 3.1-bad are gone, but 500s go on
    lab = bad_rollout()
    docs = manifests.load(rolling.WEB)
    container = docs[0]["spec"]["template"]["spec"]["containers"][0]
    container["image"] = rolling.OLD_IMAGE
    container["env"].append({"name": "ERROR_RATE", "value": "0.3"})
    with lab.traffic(rps=50) as run:
        lab.apply(docs)
        lab.wait_rollout("web")
        lab.wait_settled("web")
        lab.wait(5)
    verdict = check_rollback(lab, run)
    assert not verdict.passed
    assert "requests after the rollback still failed (http_500" in verdict.message


def test_a_roll_forward_to_another_version_is_not_a_rollback():
    """Student re-run: set_image('web', 'releaselab/web:3.1') passed 01.4 as 'rolled back to 3.1'."""
    lab = rolling.bad_release(seed=4)
    with lab.traffic(rps=50) as run:
        lab.set_image("web", "releaselab/web:3.1")
        lab.wait_rollout("web")
        lab.wait_settled("web")
        lab.wait(5)
    assert run.summary().failed >= 0 and lab.get("Deployment", "web")
    verdict = rolling.check_rollback(lab, run)
    assert verdict.answered and not verdict.passed
    assert "before 3.1-bad it ran 3.0" in verdict.message and "not a rollback" in verdict.message
