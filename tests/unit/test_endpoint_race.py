"""The endpoint race on the simulator's default timing profile, against a real cluster.

tests/data/reference_requests.json holds the request counts measured during
real rollouts (Kubernetes v1.28.7, kube-proxy in iptables mode, 20 requests/s,
a new connection per request, traffic from 3 s before the rollout until 3 s
after it).  Each row's configuration is rebuilt here from lab 04's manifests
and rolled out under the same traffic, over several seeds; the simulator must
land in the same order of magnitude with the same causes.  Then the fixes:
a preStop sleep longer than the (non-zero) propagation delay gives exactly
zero, and a grace period shorter than the requests makes SIGKILL cut them.
"""

import json
from pathlib import Path

import pytest

from releaselab import Lab
from releaselab.checks import shutdown as sh
from releaselab.sim.profile import KIND_LIKE

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "data"
                        / "reference_requests.json").read_text())
ROWS = {row["id"]: row for row in REFERENCE["rows"]}
SEEDS = range(5)


def manifest_for(row: dict, **extra) -> list:
    """lab 04's no-prestop.yaml changed to the reference row's configuration."""
    env = {"STARTUP_SECONDS": row["start_s"],
           "SHUTDOWN": {"exit at once": "immediate", "ignore": "ignore"}[row["on_sigterm"]]}
    return sh.variant("shutdown/no-prestop.yaml", env=env, max_surge=row["max_surge"],
                      max_unavailable=row["max_unavailable"],
                      readiness=None if not row["readiness_probe"] else sh._UNCHANGED,
                      grace=REFERENCE["termination_grace_period_s"], **extra)


def measure(manifest, seed: int, profile=None, timeout_s: float = 1.0):
    lab = Lab(echo=False, seed=seed, profile=profile)
    run, result = sh.rollout_under_traffic(lab, manifest, rps=REFERENCE["traffic"]["rps"],
                                           timeout_s=timeout_s)
    assert result.complete
    return run, result


def test_the_manifests_match_the_reference_setup():
    settings = sh.shutdown_settings(manifest_for(ROWS["endpoint-race"]))
    assert settings.replicas == REFERENCE["replicas"]
    assert settings.readiness and settings.prestop_s == 0
    assert settings.grace_s == 10 and settings.startup_s == 3 and settings.shutdown == "immediate"
    assert sh.shutdown_settings("shutdown/no-readiness.yaml") == sh.shutdown_settings(
        manifest_for(ROWS["no-readiness-probe"]))


def test_row_1_endpoint_race_a_few_refused_per_rollout():
    row = ROWS["endpoint-race"]
    low, high = row["rollout_s"]
    sent_ref = [r["sent"] for r in row["runs"]]
    failed = []
    for seed in SEEDS:
        run, result = measure(manifest_for(row), seed)
        failed.append(run.failed)
        causes = {q.error for q in run.requests if not q.ok}
        assert causes <= {"refused", "timeout"}, (seed, causes)
        assert low * 0.85 <= result.seconds <= high * 1.15, result.seconds
        assert min(sent_ref) * 0.85 <= run.sent <= max(sent_ref) * 1.15, run.sent
    # The reference: 3 and 1.  "A few": never zero, never tens.
    assert all(1 <= n <= 8 for n in failed), failed


def test_row_1_the_refusals_come_from_terminating_pods():
    run, _ = measure(manifest_for(ROWS["endpoint-race"]), seed=0)
    why = sh.classify(run)
    assert set(why) == {"stopped_too_early"} and why["stopped_too_early"] == run.failed


def test_row_2_no_readiness_probe_tens_refused():
    row = ROWS["no-readiness-probe"]
    for seed in SEEDS:
        run, _ = measure(manifest_for(row), seed)
        refused = sum(1 for q in run.requests if q.error == "refused")
        assert 35 <= run.failed <= 80, (seed, run.failed)   # reference: 56 of 176, twice
        assert refused >= 0.9 * run.failed
        # Over 3-4 s, as on the real cluster: the new pods are "ready" before they listen.
        times = [q.t for q in run.requests if not q.ok]
        assert 2.5 <= max(times) - min(times) <= 5.0
        assert sh.classify(run)["not_listening_yet"] > run.failed / 2


def test_row_3_app_that_ignores_sigterm_and_starts_fast_drops_nothing():
    row = ROWS["ignores-sigterm"]
    for seed in SEEDS:
        run, _ = measure(manifest_for(row), seed)
        assert run.failed == 0, seed
        assert run.sent > 140


def test_the_propagation_delay_is_real_and_calibrated():
    # Not zero for convenience: 0.30 s, as measured on the reference cluster.
    low, high = REFERENCE["endpoint_propagation_s"]
    assert low <= KIND_LIKE.endpoint_propagation_s <= high
    # Measured, not read from the profile: how long kube-proxy kept sending
    # each old pod requests after its deletion (at 400 req/s, to see it).
    lab = Lab(echo=False, seed=0)
    run, _ = sh.rollout_under_traffic(lab, "shutdown/prestop.yaml", rps=400)
    old = [p for p in lab.timeline.pods if p.version == "3.0"]
    assert len(old) == 4
    for pod in old:
        last = max(q.t for q in run.requests if q.pod == pod.name)
        assert low - 0.05 <= last - pod.terminating <= high, (pod.name, last - pod.terminating)


def test_prestop_longer_than_propagation_gives_exactly_zero():
    prestop = sh.shutdown_settings("shutdown/prestop.yaml").prestop_s
    assert prestop > KIND_LIKE.endpoint_propagation_s > 0
    for seed in SEEDS:
        run, _ = measure("shutdown/prestop.yaml", seed)
        assert run.failed == 0, seed
    # The zero is the hook's doing: the same rollout without it drops requests.
    without = [measure(sh.variant("shutdown/prestop.yaml", prestop=0), s)[0].failed for s in SEEDS]
    assert all(n > 0 for n in without), without


def test_a_slower_kube_proxy_needs_a_longer_hook():
    profile = {"proxy_sync_s": 1.5}
    short = [measure(sh.variant("shutdown/prestop.yaml", prestop=1), s, profile)[0].failed
             for s in SEEDS]
    long = [measure(sh.variant("shutdown/prestop.yaml", prestop=2), s, profile)[0].failed
            for s in SEEDS]
    assert all(n > 0 for n in short) and long == [0] * len(SEEDS)


def test_short_grace_gets_the_kubelets_two_second_minimum_as_on_the_real_cluster():
    # Issue #10's real run: grace 2 s < 1 s hook + 3 s requests, yet the kubelet
    # kept each old pod 3.3-4.3 s after its deletion and cut no request:
    # killContainer gives SIGTERM at least 2 s after the hook (so SIGKILL comes
    # at ~3.1 s, not 2.1 s), and by then requests accepted before kube-proxy
    # dropped the pod have (almost all) finished.  (The simulator used to cut
    # 18-34 here.)  The real run had 3 s requests; lab 04's manifest now has
    # 4.5 s ones, so that SIGKILL still cuts some (the next test).
    three_s = sh.variant("shutdown/short-grace.yaml", env={"LATENCY_MS": 3000})
    settings = sh.shutdown_settings(three_s)
    assert settings.grace_s < settings.prestop_s + settings.latency_ms / 1000
    for seed in SEEDS:
        lab = Lab(echo=False, seed=seed)
        run, _ = sh.rollout_under_traffic(lab, three_s, rps=20, timeout_s=5.0)
        old = [p for p in lab.timeline.pods if p.version == "3.0"]
        for pod in old:
            # SIGKILL at kill start + 1 s hook + 2 s, then the sandbox goes.
            assert 3.0 <= pod.gone - pod.terminating <= 4.3, (seed, pod.gone - pod.terminating)
        resets = sum(1 for q in run.requests if q.error == "reset")
        assert resets == run.failed <= 5, (seed, run.failed)


def test_sigkill_cuts_requests_longer_than_the_minimum_and_a_longer_grace_fixes_it():
    # 4.5 s requests outlast even the 2 s the kubelet grants after the hook.
    slow = sh.variant("shutdown/short-grace.yaml", env={"LATENCY_MS": 4500})
    for seed in SEEDS:
        run, _ = measure(slow, seed, timeout_s=5.0)
        resets = sum(1 for q in run.requests if q.error == "reset")
        assert resets >= 10 and resets == run.failed, (seed, resets)
        fixed, _ = measure(sh.variant(slow, grace=10), seed, timeout_s=5.0)
        assert fixed.failed == 0, seed


@pytest.mark.parametrize("path", ["shutdown/no-readiness.yaml", "shutdown/no-prestop.yaml",
                                  "shutdown/prestop.yaml", "shutdown/short-grace.yaml"])
def test_runs_are_deterministic(path):
    timeout = 5.0 if "grace" in path else 1.0
    a, _ = measure(path, 7, timeout_s=timeout)
    b, _ = measure(path, 7, timeout_s=timeout)
    assert a.requests == b.requests


def test_endpoint_conditions_follow_a_deleted_pod_with_a_hook():
    lab = Lab(echo=False, seed=3)
    lab.apply("shutdown/prestop.yaml")
    lab.wait_available("web")
    pod = lab.pods()[0]["name"]
    assert sh.endpoint_conditions(lab, pod) == {"ready": True, "serving": True,
                                                "terminating": False}
    start = lab.now()
    lab.delete("Pod", pod)
    lab.wait(1.0)      # inside the 2 s sleep: still serving, no longer ready
    assert sh.endpoint_conditions(lab, pod) == {"ready": False, "serving": True,
                                                "terminating": True}
    lab.wait(start + 2.3 - lab.now())    # SIGTERM at 2.12 s: the app exited
    assert sh.endpoint_conditions(lab, pod)["serving"] is False
    lab.wait(1.0)
    assert sh.endpoint_conditions(lab, pod) is None


def test_kube_proxy_min_sync_period_widens_the_window_to_a_range():
    # kube-proxy's sync runner: 2 syncs in a burst, then one per minSyncPeriod.
    # With kind's 1 s, a deletion that comes third in a burst of slice changes
    # waits for the next token: deleted pods keep receiving traffic from 0.30 s
    # up to ~1.3 s after their deletion (issue #10's real run: up to ~1 s).
    profile = {"proxy_min_sync_s": 1.0}
    timing = KIND_LIKE.with_overrides(profile)
    assert timing.endpoint_propagation_max_s == pytest.approx(1.30)
    windows = []
    for seed in SEEDS:
        lab = Lab(echo=False, seed=seed, profile=profile)
        run, _ = sh.rollout_under_traffic(lab, "shutdown/prestop.yaml", rps=400)
        for pod in (p for p in lab.timeline.pods if p.version == "3.0"):
            windows.append(max(q.t for q in run.requests if q.pod == pod.name) - pod.terminating)
    low, _ = REFERENCE["endpoint_propagation_s"]
    assert all(low - 0.05 <= w <= timing.endpoint_propagation_max_s + 0.05 for w in windows)
    assert max(windows) > 0.6, windows      # some deletions waited for a token
    # The default profile syncs on every change: always the measured 0.30 s.
    assert KIND_LIKE.proxy_min_sync_s == 0


def test_a_lone_change_is_synced_at_once_even_with_a_min_sync_period():
    # The reference's selector switch: one slice change, no burst → 0.30 s.
    lab = Lab(echo=False, seed=1, profile={"proxy_min_sync_s": 1.0})
    lab.apply("shutdown/prestop.yaml")
    lab.wait_available("web")
    lab.wait(5)                                  # the token bucket refills
    pod = lab.pods()[0]["name"]
    with lab.traffic(rps=400) as run:
        lab.wait(1)
        deleted = lab.now()
        lab.delete("Pod", pod)
        lab.wait(3)
    last = max(q.t for q in run.requests if q.pod == pod)
    low, high = REFERENCE["endpoint_propagation_s"]
    assert low - 0.05 <= last - deleted <= high


def test_the_endpointslice_lags_the_pod_by_the_controllers_delay():
    # The slice (the API object and what kube-proxy reads) changes endpointslice_s
    # after the pod does, never at the same instant.
    lab = Lab(echo=False, seed=3)
    lab.apply("shutdown/prestop.yaml")
    lab.wait_available("web")
    pod = lab.pods()[0]["name"]
    lab.delete("Pod", pod)
    assert sh.endpoint_conditions(lab, pod) == {"ready": True, "serving": True,
                                                "terminating": False}
    lab.wait(KIND_LIKE.endpointslice_s + 0.001)
    assert sh.endpoint_conditions(lab, pod)["terminating"] is True
