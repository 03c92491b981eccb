"""Lab 04's checkers: a right answer passes, a wrong one fails with why, ``...`` is unanswered."""

from collections import Counter

import pytest
import yaml

from releaselab.checks import hint
from releaselab.checks import shutdown as sh
from releaselab.checks import _core
from releaselab.manifests import load


@pytest.fixture(autouse=True)
def _fresh_feedback():
    """Each test starts with no earlier answers (help escalates per kernel, i.e. per process)."""
    _core._reset()


RIGHT_PREDICTIONS = {"A": False, "B": True, "C": False, "D": True, "E": False}


def fixed_broken_manifest():
    objects = sh.variant("shutdown/broken.yaml", prestop=2, grace=10,
                         readiness={"httpGet": {"path": "/readyz", "port": "http"},
                                    "periodSeconds": 1, "timeoutSeconds": 3,
                                    "failureThreshold": 1})
    return yaml.safe_dump_all(objects)


# -- predictions -----------------------------------------------------------------------------

def test_predictions_right():
    verdict = sh.check_predictions(RIGHT_PREDICTIONS)
    assert verdict.passed and "all 5 predictions right" in verdict.message


def test_predictions_wrong_say_what_was_measured_and_why():
    verdict = sh.check_predictions({**RIGHT_PREDICTIONS, "B": False, "E": True})
    assert not verdict.passed and verdict.answered
    assert "2 of 5 predictions wrong" in verdict.message
    assert "✗ B: you said no drops" in verdict.message
    assert "kube-proxy still sent it requests" in verdict.message   # B's reason
    assert "✗ E: you said drops; measured 0/" in verdict.message


def test_predictions_unanswered_and_malformed():
    assert not sh.check_predictions(...).answered
    assert not sh.check_predictions({**RIGHT_PREDICTIONS, "C": ...}).answered
    assert "missing: E" in sh.check_predictions({k: v for k, v in RIGHT_PREDICTIONS.items()
                                                 if k != "E"}).message
    assert "True (drops requests) or False" in sh.check_predictions(
        {**RIGHT_PREDICTIONS, "A": "no"}).message


# -- smallest preStop sleep ----------------------------------------------------------------------

def test_smallest_prestop_right():
    verdict = sh.check_smallest_prestop(2)
    assert verdict.passed and "zero failed requests" in verdict.message


def test_smallest_prestop_too_short_says_when_the_app_stopped_and_kube_proxy_dropped_it():
    verdict = sh.check_smallest_prestop(1)
    assert not verdict.passed
    # every time quoted is measured from the checker's own runs
    results = sh._measure(sh.variant("shutdown/prestop.yaml", prestop=1), sh.SEEDS,
                          profile=sh.SMALLEST_SLEEP_PROFILE)
    facts = sh._deletion_facts(results)
    assert f"the refused ones reached pods {sh._span(facts['refused'])} after" in verdict.message
    failures = Counter(q.cause for _, run, _ in results for q in run.requests if not q.ok)
    assert f"({sh._counts(results)}: " + ", ".join(
        f"{cause} {n}" for cause, n in sorted(failures.items())) + ")" in verdict.message
    assert f"stopping each pod {sh._span(facts['kubelet'])} after its deletion" in verdict.message
    assert "stopped listening before kube-proxy stopped sending it requests" in verdict.message


def test_smallest_prestop_not_the_smallest():
    verdict = sh.check_smallest_prestop(3)
    assert not verdict.passed and "not the smallest" in verdict.message
    assert "2 s" not in verdict.message          # which shorter one is the reader's to find
    assert "a shorter whole-second sleep gives zero too" in verdict.message


def test_smallest_prestop_follows_the_profile():
    # On the default profile (0.30 s) a 1 s hook is enough, and 0 is not.
    assert sh.check_smallest_prestop(1, profile={}).passed
    assert not sh.check_smallest_prestop(0, profile={}).passed


def test_smallest_prestop_unanswered_and_malformed():
    assert not sh.check_smallest_prestop(...).answered
    assert "whole seconds" in sh.check_smallest_prestop(1.5).message
    assert not sh.check_smallest_prestop(-1).passed
    assert not sh.check_smallest_prestop("2").passed


# -- grace period ---------------------------------------------------------------------------------

def test_grace_right():
    verdict = sh.check_grace_period(10)
    assert verdict.passed and "zero failed" in verdict.message


def test_grace_too_short_counts_the_cut_requests():
    verdict = sh.check_grace_period(2)
    assert not verdict.passed
    assert "cut in flight (reset)" in verdict.message and "takes 4.5 s" in verdict.message
    assert "preStop hook" in verdict.hint_text and "e.g. 10" in verdict.fix_text


def test_grace_follows_killcontainer_not_grace_alone():
    # SIGKILL = end of the 1 s hook + max(grace - 1, 2): grace 2 and 3 both put
    # it 3 s after the hook began (the 2 s minimum), grace 4 at 4 s — all before
    # the 4.5 s requests kube-proxy sent until 0.30 s end — and grace 5 at
    # 5.12 s, after them: it passes, but below hook + request (5.5 s), so the
    # message says there is no margin.
    two, three = sh.check_grace_period(2), sh.check_grace_period(3)
    assert not two.passed and not three.passed
    assert "gone 3.62 s after its deletion" in two.message
    assert "gone 3.62 s after its deletion" in three.message
    assert not sh.check_grace_period(4).passed
    five = sh.check_grace_period(5)
    assert five.passed and "less than the 1 s preStop sleep plus the 4.5 s longest request = 5.5 s" \
        in five.message and "margin" in five.message
    assert "(at least the 1 s preStop sleep plus the 4.5 s longest request = 5.5 s)" \
        in sh.check_grace_period(6).message


def test_grace_unanswered_and_malformed():
    assert not sh.check_grace_period(...).answered
    assert not sh.check_grace_period(2.5).passed
    assert not sh.check_grace_period(True).passed


# -- the broken manifest ---------------------------------------------------------------------------

def test_fixed_manifest_passes_as_yaml_text_and_as_objects():
    text = fixed_broken_manifest()
    assert sh.check_fixed_manifest(text).passed
    assert sh.check_fixed_manifest(load(text)).passed


def test_broken_manifest_fails_with_every_reason():
    verdict = sh.check_fixed_manifest("shutdown/broken.yaml")
    assert not verdict.passed
    for words in ("refused by a new pod", "refused by a terminating pod", "cut in flight"):
        assert words in verdict.message
    for words in ("preStop sleep: 0 s", "terminationGracePeriodSeconds: 2 s"):
        assert words in verdict.hint_text
    for words in ("add a readiness probe", "a preStop sleep longer than",
                  "terminationGracePeriodSeconds above"):
        assert words in verdict.fix_text and words not in verdict.message


def test_a_fix_without_the_grace_period_passes_and_says_it_has_no_margin():
    # Readiness probe and a 2 s hook, grace left at 2: SIGKILL would come only
    # 2 s after the hook (killContainer's minimum), after the 2.5 s requests
    # kube-proxy sent before it dropped the pod — zero failed, but no margin.
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1,
             "timeoutSeconds": 3, "failureThreshold": 1}
    two = sh.check_fixed_manifest(sh.variant("shutdown/broken.yaml", readiness=probe, prestop=2))
    assert two.passed and "zero failed requests" in two.message
    assert "terminationGracePeriodSeconds 2 is less than the 2 s hook plus a 2.5 s request" \
        in two.message and "at least 2 s after the hook" in two.message
    ten = sh.check_fixed_manifest(fixed_broken_manifest())
    assert ten.passed and "less than" not in ten.message


def test_half_fixed_manifest_names_what_is_left():
    # A readiness probe, but no preStop sleep: the endpoint race is left.
    # (A preStop sleep with the grace period left at 2 s no longer fails:
    # the kubelet's killContainer gives SIGTERM at least 2 s after the hook,
    # so SIGKILL comes 3 s after the hook started and the 2.5 s requests
    # finish — as issue #10's real run showed for 3 s requests.)
    objects = sh.variant("shutdown/broken.yaml",
                         readiness={"httpGet": {"path": "/readyz", "port": "http"},
                                    "periodSeconds": 1, "timeoutSeconds": 3})
    verdict = sh.check_fixed_manifest(objects)
    assert not verdict.passed
    assert "refused by a terminating pod" in verdict.message
    assert "preStop sleep: 0 s" in verdict.hint_text
    assert "add a readiness probe" not in verdict.fix_text


def test_fixing_the_app_instead_is_refused():
    objects = sh.variant(fixed_broken_manifest(), env={"LATENCY_MS": "5"})
    verdict = sh.check_fixed_manifest(objects)
    assert not verdict.passed and "fix the manifest, not the app" in verdict.message


def test_probe_timeout_shorter_than_latency_is_explained():
    objects = sh.variant(fixed_broken_manifest(),
                         readiness={"httpGet": {"path": "/readyz", "port": "http"},
                                    "periodSeconds": 1})
    verdict = sh.check_fixed_manifest(objects)
    assert not verdict.passed and "timeoutSeconds 1" in verdict.message
    assert "timeoutSeconds" in verdict.hint_text          # a hint of its own, not an empty one
    assert hint("04.4").startswith("💡 Hint: a probe whose answer comes after timeoutSeconds")


def test_fixed_manifest_unanswered_and_unloadable():
    assert not sh.check_fixed_manifest(...).answered
    verdict = sh.check_fixed_manifest("kind: Deployment\n  bad: [")
    assert not verdict.passed and "not valid YAML at line 2" in verdict.message


def test_case_e_is_described_as_the_manifest_a_reader_can_write():
    """Student report: 'preStop sleep 2 s, grace 1' is refused by the API server for the
    sleep action; the case runs an exec sleep, and the text says so."""
    text, _ = sh.PREDICTION_CASES["E"]
    hook = _core_container(sh.prediction_manifest("E"))["lifecycle"]["preStop"]
    assert hook == {"exec": {"command": ["sleep", "2"]}}
    assert "exec: [sleep, 2]" in text and "terminationGracePeriodSeconds 1" in text
    from releaselab import manifests
    from releaselab.errors import ManifestError
    objects = sh.prediction_manifest("E")           # as the sleep action: refused, as upstream
    _core_container(objects)["lifecycle"]["preStop"] = {"sleep": {"seconds": 2}}
    with pytest.raises(ManifestError, match="less than terminationGracePeriodSeconds"):
        for doc in objects:
            manifests.validate(doc)


def _core_container(objects):
    deployment = next(d for d in objects if d.get("kind") == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]
