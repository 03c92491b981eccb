"""The watch conversions: Kubernetes objects as the API server sends them → Timeline records.

Pure functions, no cluster.  The dicts are shaped like real watch events of
a kind cluster (trimmed to the fields the conversions read).
"""

from __future__ import annotations

from datetime import datetime, timezone

from releaselab.kube._watch import (event_record, image_tag, pod_record, pod_version,
                                    rs_deployment, rs_step)
from releaselab.timeline import Timeline

WALL0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=timezone.utc).timestamp()


def ts(seconds_after_start: float) -> str:
    return datetime.fromtimestamp(WALL0 + seconds_after_start, timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(phase="Pending", *, image="releaselab/web:3.1", env=None, node=None, conditions=(),
        statuses=None, deleting=None, created=5.0):
    meta = {"name": "web-7d4b9-x2k", "namespace": "releaselab",
            "labels": {"app": "web", "pod-template-hash": "7d4b9"},
            "creationTimestamp": ts(created),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "web-7d4b9", "uid": "u1", "controller": True}]}
    if deleting is not None:
        meta["deletionTimestamp"] = ts(deleting + 30)
        meta["deletionGracePeriodSeconds"] = 30
    spec = {"containers": [{"name": "web", "image": image, "env": env or []}]}
    if node:
        spec["nodeName"] = node
    status = {"phase": phase, "conditions": [
        {"type": t, "status": s, "lastTransitionTime": ts(when)} for t, s, when in conditions]}
    if statuses is not None:
        status["containerStatuses"] = statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def test_a_pods_life_from_watch_events():
    rec = pod_record(pod(), "ADDED", 5.2, WALL0)
    assert (rec.name, rec.replicaset, rec.deployment, rec.version) == (
        "web-7d4b9-x2k", "web-7d4b9", "web", "3.1")
    assert rec.created == 5.2 and rec.scheduled is None and rec.state_at(6) == "Pending"

    scheduled = pod(node="releaselab-worker2", conditions=[("PodScheduled", "True", 5)])
    assert pod_record(scheduled, "MODIFIED", 5.3, WALL0, rec) is rec
    assert rec.node == "releaselab-worker2" and rec.scheduled == 5.3

    running = pod("Running", node="releaselab-worker2",
                  conditions=[("PodScheduled", "True", 5), ("Ready", "False", 5)],
                  statuses=[{"name": "web", "restartCount": 0, "ready": False,
                             "state": {"running": {"startedAt": ts(6)}}}])
    pod_record(running, "MODIFIED", 6.4, WALL0, rec)
    assert rec.started == 6.4 and rec.ready is None and rec.state_at(6.5) == "Starting"

    ready = pod("Running", node="releaselab-worker2",
                conditions=[("PodScheduled", "True", 5), ("Ready", "True", 8)],
                statuses=[{"name": "web", "restartCount": 0, "ready": True,
                           "state": {"running": {"startedAt": ts(6)}}}])
    pod_record(ready, "MODIFIED", 8.1, WALL0, rec)
    assert rec.ready == 8.1 and rec.state_at(9) == "Ready"

    terminating = dict(ready, metadata=pod(deleting=20.0)["metadata"])
    pod_record(terminating, "MODIFIED", 20.05, WALL0, rec)
    assert rec.terminating == 20.05 and rec.state_at(21) == "Terminating"

    pod_record(terminating, "DELETED", 52.0, WALL0, rec)
    assert rec.gone == 52.0 and rec.state_at(53) is None


def test_readiness_lost_while_running_is_an_unready_interval():
    cond_ready = [("PodScheduled", "True", 1), ("Ready", "True", 2)]
    cond_unready = [("PodScheduled", "True", 1), ("Ready", "False", 10)]
    running = [{"name": "web", "state": {"running": {"startedAt": ts(1)}}}]
    rec = pod_record(pod("Running", conditions=cond_ready, statuses=running), "ADDED", 2.0, WALL0)
    pod_record(pod("Running", conditions=cond_unready, statuses=running), "MODIFIED", 10.0,
               WALL0, rec)
    pod_record(pod("Running", conditions=cond_unready, statuses=running), "MODIFIED", 11.0,
               WALL0, rec)      # still unready: the same interval
    assert rec.unready == [[10.0, None]] and rec.state_at(10.5) == "Starting"
    pod_record(pod("Running", conditions=cond_ready, statuses=running), "MODIFIED", 12.5,
               WALL0, rec)
    assert rec.unready == [[10.0, 12.5]] and rec.state_at(13) == "Ready"


def test_image_pull_errors_and_restarts():
    waiting = [{"name": "web", "restartCount": 0,
                "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]
    rec = pod_record(pod(image="releaselab/web:9.9", statuses=waiting), "MODIFIED", 3.0, WALL0)
    assert rec.waiting_reason == "ErrImagePull" and rec.started is None and rec.version == "9.9"
    waiting[0]["state"]["waiting"]["reason"] = "ImagePullBackOff"
    pod_record(pod(statuses=waiting), "MODIFIED", 4.0, WALL0, rec)
    assert rec.waiting_reason == "ImagePullBackOff"
    crashed = [{"name": "web", "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    pod_record(pod(statuses=crashed), "MODIFIED", 9.0, WALL0, rec)
    assert (rec.restarts, rec.waiting_reason) == (3, "CrashLoopBackOff")


def test_a_pod_older_than_the_backend_starts_at_zero_not_at_a_negative_time():
    # On kind the first list shows what an earlier run left: the Timeline begins at the
    # Lab's start, so the pod is there at 0 (issue 10 item 3), never at -120.
    old = pod("Running", created=-120, conditions=[("PodScheduled", "True", -119),
                                                   ("Ready", "True", -100)],
              statuses=[{"name": "web", "state": {"running": {"startedAt": ts(-110)}}}],
              deleting=-5)
    rec = pod_record(old, "ADDED", 0.3, WALL0)
    assert (rec.created, rec.scheduled, rec.started, rec.ready, rec.terminating) == (
        0.0, 0.0, 0.0, 0.0, 0.0)
    assert rec.state_at(0.0) == "Terminating"
    # A stage reached after the start keeps the time the watch saw it.
    rec = pod_record(pod(created=-30, conditions=[("PodScheduled", "True", -29)]), "ADDED",
                     0.2, WALL0)
    rec = pod_record(pod(created=-30, conditions=[("PodScheduled", "True", -29),
                                                  ("Ready", "True", 2)]), "MODIFIED", 2.4, WALL0,
                     rec)
    assert (rec.created, rec.ready) == (0.0, 2.4)
    assert rec.state_at(1.0) == "Pending" and rec.state_at(2.5) == "Ready"


def test_version_from_env_or_image_tag():
    assert pod_version(pod(env=[{"name": "VERSION", "value": "3.1-bad"}])) == "3.1-bad"
    assert pod_version(pod(image="releaselab/web:2.0")) == "2.0"
    assert image_tag("localhost:5000/web") is None
    assert image_tag("localhost:5000/web:1.1@sha256:abc") == "1.1"
    assert rs_deployment("web-canary-5d8c9", "5d8c9") == "web-canary"
    assert rs_deployment("web", None) is None


def _rs(replicas, revision="2", created=3.0, name="web-7d4b9"):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "creationTimestamp": ts(created),
                         "annotations": {"deployment.kubernetes.io/revision": revision},
                         "ownerReferences": [{"kind": "Deployment", "name": "web"}]},
            "spec": {"replicas": replicas}}


def test_replicaset_steps_of_a_rollout():
    steps, known = [], None
    for t, replicas in [(3.0, 1), (3.1, 1), (9.0, 2), (15.0, 4)]:
        step, known = rs_step(_rs(replicas), "ADDED" if t == 3.0 else "MODIFIED", t, WALL0, known)
        if step:
            steps.append(step)
    assert [(s.t, s.replicaset, s.deployment, s.revision, s.from_, s.to) for s in steps] == [
        (3.0, "web-7d4b9", "web", 2, 0, 1), (9.0, "web-7d4b9", "web", 2, 1, 2),
        (15.0, "web-7d4b9", "web", 2, 2, 4)]
    assert rs_step(_rs(4), "DELETED", 20.0, WALL0, 4) == (None, None)


def test_a_replicaset_older_than_the_backend_is_a_baseline():
    step, known = rs_step(_rs(4, revision="1", created=-300), "ADDED", 0.2, WALL0, None)
    assert step is None and known == 4
    step, known = rs_step(_rs(3, revision="1", created=-300), "MODIFIED", 4.0, WALL0, known)
    assert (step.from_, step.to, step.revision) == (4, 3, 1)


def _event(reason, message, first, last, count=1, kind="Deployment", name="web"):
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.17f", "uid": "e1"},
            "involvedObject": {"kind": kind, "name": name, "namespace": "releaselab"},
            "reason": reason, "message": message, "type": "Normal", "count": count,
            "firstTimestamp": ts(first), "lastTimestamp": ts(last)}


def test_events_keep_reason_message_and_count():
    ev = event_record(_event("ScalingReplicaSet", "Scaled up replica set web-7d4b9 to 1",
                             3, 3), 3.4, WALL0)
    assert (ev.t, ev.kind, ev.name, ev.reason, ev.message, ev.count, ev.last_t) == (
        3.4, "Deployment", "web", "ScalingReplicaSet", "Scaled up replica set web-7d4b9 to 1",
        1, None)
    pulled = event_record(_event("Failed", "Error: ErrImagePull", 4, 30, count=5, kind="Pod",
                                 name="web-7d4b9-x2k"), 30.2, WALL0)
    assert (pulled.count, pulled.kind, pulled.last_t) == (5, "Pod", 30.2)
    assert event_record(_event("Scheduled", "old", -600, -590), 0.1, WALL0) is None


def test_watcher_folds_events_into_one_timeline():
    from releaselab.kube._watch import Watcher

    tl = Timeline()
    w = Watcher(tl, {}, "releaselab", clock=lambda: 7.0, wall0=WALL0)
    w.handle("pods", "ADDED", pod())
    w.handle("pods", "MODIFIED", pod(node="releaselab-worker"))
    w.handle("replicasets", "ADDED", _rs(1))
    w.handle("replicasets", "MODIFIED", _rs(1))
    w.handle("events", "ADDED", _event("Pulled", "pulled", 6, 6, kind="Pod"))
    w.handle("events", "MODIFIED", _event("Pulled", "pulled again", 6, 7, count=2, kind="Pod"))
    assert [p.name for p in tl.pods] == ["web-7d4b9-x2k"] and tl.pods[0].node == "releaselab-worker"
    assert [(s.from_, s.to) for s in tl.rs_steps] == [(0, 1)]
    assert [(e.reason, e.count, e.message) for e in tl.events] == [("Pulled", 2, "pulled again")]


def _slice(endpoints, name="web-abcde", service="web"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": cond,
                           "targetRef": {"kind": "Pod", "name": pod}}
                          for pod, cond in endpoints]}


def test_endpointslice_events_become_endpoint_changes():
    from releaselab.kube._watch import endpoint_changes

    known: dict = {}
    first = endpoint_changes(_slice([("web-a", {"ready": True}), ("web-b", {})]), "ADDED", 0.1,
                             known)
    # A nil ready or serving means true, a nil terminating false (discovery/v1 EndpointConditions).
    assert [(c.pod, c.present, c.ready, c.serving, c.terminating) for c in first] == [
        ("web-a", True, True, True, False), ("web-b", True, True, True, False)]
    same = endpoint_changes(_slice([("web-a", {"ready": True}), ("web-b", {})]), "MODIFIED",
                            0.5, known)
    assert same == []                         # nothing changed: nothing recorded
    going = endpoint_changes(_slice([("web-a", {"ready": False, "serving": True,
                                                "terminating": True}), ("web-b", {})]),
                             "MODIFIED", 2.25, known)
    assert [(c.t, c.service, c.pod, c.ready, c.serving, c.terminating) for c in going] == [
        (2.25, "web", "web-a", False, True, True)]
    gone = endpoint_changes(_slice([("web-b", {})]), "MODIFIED", 3.0, known)
    assert [(c.pod, c.present) for c in gone] == [("web-a", False)]
    deleted = endpoint_changes(_slice([("web-b", {})]), "DELETED", 4.0, known)
    assert [(c.pod, c.present) for c in deleted] == [("web-b", False)] and known == {}
