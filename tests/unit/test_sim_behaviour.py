"""The simulator's Kubernetes behaviours, one at a time, measured through the Lab."""

from __future__ import annotations

import copy

import pytest

from releaselab import Lab
from releaselab.errors import NotFoundError, UsageError
from releaselab.manifests import load
from releaselab.sim.app import AppConfig, AppProcess, BadAppConfig

BASE = load("rolling/web.yaml")


def docs(replicas=4, strategy=None, env=None, probe=True, **spec_fields):
    d = copy.deepcopy(BASE)
    spec = d[0]["spec"]
    spec["replicas"] = replicas
    if strategy is not None:
        spec["strategy"] = strategy
    spec.update(spec_fields)
    container = spec["template"]["spec"]["containers"][0]
    container["env"] = [{"name": k, "value": str(v)} for k, v in (env or {}).items()]
    if not probe:
        container.pop("readinessProbe")
    return d


def ready_lab(*args, seed=0, **kwargs):
    lab = Lab(seed=seed, echo=False)
    lab.apply(docs(*args, **kwargs))
    lab.wait_available("web")
    return lab


def test_recreate_stops_every_old_pod_before_starting_new_ones():
    lab = ready_lab(strategy={"type": "Recreate"})
    with lab.traffic(rps=50) as run:
        lab.set_image("web", "releaselab/web:3.1")
        assert lab.wait_rollout("web").complete
        lab.wait(2)
    old_gone = max(p.gone for p in lab.timeline.pods if p.version == "3.0")
    new_created = min(p.created for p in lab.timeline.pods if p.version == "3.1")
    assert new_created >= old_gone
    assert run.summary().by_cause.get("refused", 0) > 50     # the downtime Recreate is known for


def test_pause_holds_a_template_change_and_resume_rolls_it_out():
    lab = ready_lab()
    lab.rollout_pause("web")
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait(30)
    assert {p["version"] for p in lab.pods()} == {"3.0"}
    cond = {c["type"]: c for c in lab.get("Deployment", "web")["status"]["conditions"]}
    assert cond["Progressing"]["reason"] == "DeploymentPaused"
    with pytest.raises(UsageError, match="cannot rollback a paused deployment"):
        lab.rollout_undo("web")
    lab.rollout_resume("web")
    assert lab.wait_rollout("web").complete
    lab.wait_settled("web")
    assert {p["version"] for p in lab.pods()} == {"3.1"}


def test_undo_revisions_and_history_like_kubernetes():
    lab = ready_lab()
    for image in ("releaselab/web:3.1", "releaselab/web:3.1-bad"):
        lab.set_image("web", image)
        lab.wait_rollout("web")
    assert [row["revision"] for row in lab.rollout_history("web")] == [1, 2, 3]
    assert lab.rollout_undo("web", to_revision=1) == 1
    lab.wait_rollout("web")
    history = lab.rollout_history("web")
    # The restored ReplicaSet takes the newest number; its old one is remembered.
    assert [(row["revision"], row["image"]) for row in history] == [
        (2, "releaselab/web:3.1"), (3, "releaselab/web:3.1-bad"), (4, "releaselab/web:3.0")]
    rs = next(o for o in lab.backend.list("ReplicaSet")
              if o["spec"]["template"]["spec"]["containers"][0]["image"] == "releaselab/web:3.0")
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    with pytest.raises(NotFoundError, match="unable to find specified revision 9"):
        lab.rollout_undo("web", to_revision=9)


def test_revision_history_limit_deletes_the_oldest_replicasets():
    lab = ready_lab(revisionHistoryLimit=1)
    for image in ("releaselab/web:3.1", "releaselab/web:3.0", "releaselab/web:3.1-bad"):
        lab.set_image("web", image)
        lab.wait_rollout("web")
        lab.wait_settled("web")
        lab.wait(1)
    assert len(lab.backend.list("ReplicaSet")) == 2


def test_a_full_cluster_leaves_surge_pods_pending():
    lab = Lab(echo=False, workers=1, node_cpu="200m")    # room for exactly 4 pods of 50m
    lab.apply(docs(replicas=4))
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:3.1")
    result = lab.wait_rollout("web")
    assert result.status == "ProgressDeadlineExceeded"       # maxUnavailable 0: stuck
    assert any(p["status"] == "Pending" for p in lab.pods())
    message = next(e.message for e in lab.timeline.events if e.reason == "FailedScheduling")
    assert message.startswith("0/2 nodes are available:") and "Insufficient cpu" in message


def test_min_ready_seconds_delays_availability():
    lab = ready_lab(replicas=2, minReadySeconds=5)
    lab.set_image("web", "releaselab/web:3.1")
    slow = lab.wait_rollout("web").seconds
    fast_lab = ready_lab(replicas=2)
    fast_lab.set_image("web", "releaselab/web:3.1")
    fast = fast_lab.wait_rollout("web").seconds
    assert slow == pytest.approx(fast + 2 * 5, abs=1.5)     # two waves, 5 s each


def test_liveness_failure_restarts_the_container():
    d = docs(replicas=1, env={"LATENCY_MS": 1500})
    container = d[0]["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"},
                                  "periodSeconds": 1, "failureThreshold": 2, "timeoutSeconds": 1}
    lab = Lab(echo=False)
    lab.apply(d)
    lab.wait(40)
    assert lab.pods()[0]["restarts"] >= 1
    assert any("failed liveness probe, will be restarted" in e.message for e in lab.timeline.events)


def test_startup_probe_gates_readiness():
    d = docs(replicas=1, env={"STARTUP_SECONDS": 4})
    d[0]["spec"]["template"]["spec"]["containers"][0]["startupProbe"] = {
        "httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2, "failureThreshold": 10}
    lab = Lab(echo=False)
    lab.apply(d)
    lab.wait_available("web")
    pod = lab.timeline.pods[0]
    assert pod.ready - pod.started >= 4


def test_a_probe_on_a_wrong_path_never_passes():
    d = docs(replicas=1)
    d[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/ready"
    lab = Lab(echo=False)
    lab.apply(d)
    lab.wait(10)
    assert lab.pods()[0]["ready"] == "0/1"
    assert any("statuscode: 404" in e.message for e in lab.timeline.events)


def test_a_bad_app_setting_crash_loops():
    lab = Lab(echo=False)
    lab.apply(docs(replicas=1, env={"SHUTDOWN": "later"}))
    lab.wait(30)
    pod = lab.pods()[0]
    assert pod["status"] == "CrashLoopBackOff" and pod["restarts"] >= 2


def test_service_without_endpoints_refuses():
    lab = Lab(echo=False)
    lab.apply(docs(replicas=0))
    with lab.traffic(rps=10) as run:
        lab.wait(2)
    assert run.sent == 20 and run.summary().by_cause == {"refused": 20}


def test_no_readiness_probe_sends_traffic_to_pods_that_do_not_listen():
    lab = ready_lab(probe=False, env={"STARTUP_SECONDS": 3},
                    strategy={"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    with lab.traffic(rps=20) as run:
        lab.set_image("web", "releaselab/web:3.1")
        lab.wait_rollout("web")
        lab.wait(5)
    assert run.summary().by_cause.get("refused", 0) > 5


def test_error_rate_of_a_bad_image():
    lab = ready_lab(replicas=2)
    lab.set_image("web", "releaselab/web:3.1-bad")
    lab.wait_rollout("web")
    lab.wait_settled("web")
    with lab.traffic(rps=100) as run:
        lab.wait(20)
    share = run.summary().by_cause["http_500"] / run.sent
    assert 0.25 < share < 0.35


@pytest.mark.parametrize("env, error", [({"ERROR_RATE": "lots"}, "ERROR_RATE"),
                                        ({"SHUTDOWN": "later"}, "SHUTDOWN"),
                                        ({"NEVER_READY": "yes"}, "NEVER_READY"),
                                        ({"ERROR_RATE": "1.5"}, "a fraction from 0 to 1"),
                                        ({"STARTUP_SECONDS": "1e10"}, "from 0 to 3600"),
                                        ({"VERSION": " "}, "VERSION")])
def test_app_model_rejects_what_the_server_rejects(env, error):
    # (tests/unit/test_app_server.py runs the same values through the real server)
    with pytest.raises(BadAppConfig, match=error):
        AppConfig.from_env({"VERSION": "1.0", **env})


def app_config(**env) -> AppConfig:
    return AppConfig.from_env({"VERSION": "1.0", **env})


def test_app_model_shutdown_modes():
    config = app_config(STARTUP_SECONDS="1", LATENCY_MS="5")
    app = AppProcess(config, 0.0, "x")
    assert not app.listening(0.5) and app.listening(1.0)
    app.track(10.004, 7, 10.0)              # a request in flight at SIGTERM
    assert app.sigterm(10.0) == pytest.approx(10.004)   # graceful: exits when it is done
    assert not app.listening(10.001)        # ... and refuses new connections at once
    immediate = AppProcess(app_config(SHUTDOWN="immediate"), 0.0, "y")
    immediate.track(10.004, 3, 10.0)
    assert immediate.sigterm(10.0) == 10.0 and immediate.exit(10.0) == [3]   # cut: a reset
    ignore = AppProcess(app_config(SHUTDOWN="ignore"), 0.0, "z")
    assert ignore.sigterm(10.0) is None and ignore.listening(20.0)
    never = AppProcess(app_config(NEVER_READY="1"), 0.0, "n")
    assert never.probe(5.0, "/readyz", "httpGet", 1) == (False, "HTTP probe failed with statuscode: 503")
    assert never.probe(5.0, "/healthz", "httpGet", 1) == (True, "")


def test_different_seeds_name_pods_differently_same_seed_same_names():
    names = lambda seed: [p.name for p in ready_lab(seed=seed).timeline.pods]  # noqa: E731
    assert names(1) == names(1) and names(1) != names(2)


def test_timing_profile_overrides_are_checked():
    with pytest.raises(UsageError, match="unknown timing profile field"):
        Lab(profile={"proxy_sync": 1})
    with pytest.raises(UsageError, match="from 0 to 3600"):
        Lab(profile={"proxy_sync_s": -1})
    slow = Lab(profile={"proxy_sync_s": 2.0}).backend.profile
    assert slow.endpoint_propagation_s == pytest.approx(2.05)
