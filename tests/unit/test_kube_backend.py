"""KubeBackend's real kubernetes-client code paths, against a local Kubernetes API emulator.

The emulator is kmock's stateful ``KubernetesEmulator``: an in-memory object
store behind the Kubernetes REST URL layout, served over HTTP on 127.0.0.1.
The backend talks to it exactly as to a cluster (kubeconfig → ApiClient →
urllib3 → HTTP), and every test asserts on the objects the emulator ended up
holding, never on replies written for the test.

What the emulator does NOT do, so these tests cannot show it:
- it runs no controllers: no ReplicaSets or Pods appear after a Deployment
  is applied, no rollout happens, no status is written (the undo test
  creates its ReplicaSets by hand, as the Deployment controller would);
- it does not implement server-side apply or strategic merge: an apply
  PATCH to a missing object answers 404 (so the backend's create fallback
  runs) and any PATCH body is a recursive dict merge with lists replaced
  (a strategic-merge patch of one container therefore drops the container's
  other fields there; on a real API server they are kept);
- it ignores label selectors and field managers (the tests check the
  request carried them instead);
- it does not validate objects or default fields.
Real rollouts, probes and traffic through kube-proxy are exercised only by
the conformance suite on a real kind cluster (RELEASELAB_BACKEND=kind).
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import time
from pathlib import Path

import pytest
import yaml

pytest.importorskip("kmock")
pytest.importorskip("kubernetes")

from kmockutil import write_kubeconfig  # noqa: E402

from releaselab.errors import (BackendError, ContextRefusedError, NotFoundError,  # noqa: E402
                               UsageError)
from releaselab.kube import MANAGED_BY_KEY, make_backend  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WEB_YAML = REPO / "cluster" / "manifests" / "rolling" / "web.yaml"
NS = "releaselab"
DEPLOY = ("apps/v1/deployments", NS, "web")


@pytest.fixture
def backend(emu, tmp_path, monkeypatch):
    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    b = make_backend(kubeconfig=str(cfg), watch=False, progress=None, request_timeout=10)
    yield b
    b.close()


def manifests() -> list[dict]:
    return [d for d in yaml.safe_load_all(WEB_YAML.read_text()) if d]


def deployment() -> dict:
    return next(d for d in manifests() if d["kind"] == "Deployment")


def test_apply_stores_deployment_and_service_with_label(backend, emu):
    for doc in manifests():
        backend.apply(doc)
    dep = emu.obj(DEPLOY)
    svc = emu.obj(("v1/services", NS, "web"))
    assert dep["metadata"]["labels"][MANAGED_BY_KEY] == "releaselab"
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "releaselab/web:3.0"
    assert dep["spec"]["replicas"] == 4
    assert svc["spec"]["ports"][0]["nodePort"] == 30080
    # Server-side apply was tried first, as the field manager "releaselab", then create.
    applies = [r for r in emu.requests if r.method == "PATCH"
               and r.headers.get("Content-Type") == "application/apply-patch+yaml"]
    assert applies and all(r.params.get("fieldManager") == "releaselab" for r in applies)
    assert all(r.params.get("force") == "true" for r in applies)
    assert [r.url.path for r in emu.requests if r.method == "POST"] == [
        "/apis/apps/v1/namespaces/releaselab/deployments",
        "/api/v1/namespaces/releaselab/services"]


def test_apply_adds_label_and_namespace_when_missing(backend, emu):
    doc = deployment()
    del doc["metadata"]["namespace"]
    del doc["metadata"]["labels"][MANAGED_BY_KEY]
    backend.apply(doc)
    stored = emu.obj(DEPLOY)
    assert stored["metadata"]["namespace"] == NS
    assert stored["metadata"]["labels"] == {"app": "web", MANAGED_BY_KEY: "releaselab"}


def test_apply_again_updates_in_place_without_a_second_create(backend, emu):
    backend.apply(deployment())
    again = deployment()
    again["spec"]["replicas"] = 6
    backend.apply(again)
    assert emu.obj(DEPLOY)["spec"]["replicas"] == 6
    assert sum(1 for r in emu.requests if r.method == "POST") == 1


def test_apply_to_another_namespace_is_refused_before_any_request(backend, emu):
    doc = deployment()
    doc["metadata"]["namespace"] = "default"
    before = len(emu.requests)
    with pytest.raises(ContextRefusedError, match="namespace 'default'"):
        backend.apply(doc)
    assert len(emu.requests) == before


def test_apply_over_an_unlabelled_object_is_refused(backend, emu):
    foreign = deployment()
    del foreign["metadata"]["labels"][MANAGED_BY_KEY]
    emu.k8s.objects[DEPLOY] = foreign
    with pytest.raises(ContextRefusedError, match="not labelled"):
        backend.apply(deployment())
    assert MANAGED_BY_KEY not in emu.obj(DEPLOY)["metadata"]["labels"]


def test_set_image_by_strategic_merge_patch(backend, emu):
    backend.apply(deployment())
    backend.patch("Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "releaselab/web:3.1"}]}}}})
    assert emu.obj(DEPLOY)["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "releaselab/web:3.1"
    patch = [r for r in emu.requests if r.method == "PATCH"][-1]
    assert patch.headers["Content-Type"] == "application/strategic-merge-patch+json"


def test_patch_and_delete_refuse_unlabelled_objects(backend, emu):
    foreign = deployment()
    del foreign["metadata"]["labels"][MANAGED_BY_KEY]
    emu.k8s.objects[DEPLOY] = foreign
    with pytest.raises(ContextRefusedError):
        backend.patch("Deployment", "web", {"spec": {"replicas": 1}})
    with pytest.raises(ContextRefusedError):
        backend.delete("Deployment", "web")
    with pytest.raises(ContextRefusedError):
        backend.scale("web", 0)
    assert emu.holds(DEPLOY) and emu.obj(DEPLOY)["spec"]["replicas"] == 4
    assert not [r for r in emu.requests if r.method in ("PATCH", "DELETE")]


def test_scale_goes_through_the_scale_subresource(backend, emu):
    backend.apply(deployment())
    backend.scale("web", 7)
    assert emu.obj(DEPLOY)["spec"]["replicas"] == 7
    assert [r.url.path for r in emu.requests if r.method == "PATCH"][-1] == \
        "/apis/apps/v1/namespaces/releaselab/deployments/web/scale"
    with pytest.raises(UsageError):
        backend.scale("web", -1)


def test_get_and_list_return_kubernetes_shaped_dicts(backend, emu):
    for doc in manifests():
        backend.apply(doc)
    dep = backend.get("Deployment", "web")
    assert dep["apiVersion"] == "apps/v1" and dep["kind"] == "Deployment"
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    items = backend.list("Deployment", {"app": "web"})
    assert [(i["kind"], i["apiVersion"], i["metadata"]["name"]) for i in items] == [
        ("Deployment", "apps/v1", "web")]
    # The emulator ignores selectors; the request must still carry it.
    lists = [r for r in emu.requests if r.method == "GET" and r.url.path.endswith("/deployments")]
    assert lists[-1].params["labelSelector"] == "app=web"
    with pytest.raises(NotFoundError, match="Deployment 'nope'"):
        backend.get("Deployment", "nope")
    with pytest.raises(UsageError, match="kind 'CronJob'"):
        backend.get("CronJob", "x")


def test_delete_removes_it_from_the_emulator(backend, emu):
    backend.apply(deployment())
    backend.delete("Deployment", "web")
    assert not emu.holds(DEPLOY)
    with pytest.raises(NotFoundError):
        backend.get("Deployment", "web")
    with pytest.raises(NotFoundError):
        backend.delete("Deployment", "web")


def _replicaset(name, revision, image, owner="web", template_hash="h"):
    tpl = copy.deepcopy(deployment()["spec"]["template"])
    tpl["metadata"]["labels"]["pod-template-hash"] = template_hash
    tpl["spec"]["containers"][0]["image"] = image
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NS,
                         "labels": dict(tpl["metadata"]["labels"]),
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         "team": f"rev{revision}"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": owner, "controller": True}]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                     "template": tpl}}


@pytest.fixture
def rolled(backend, emu):
    """web at revision 3 (3.1-bad), with the ReplicaSets the controller would have left."""
    backend.apply(deployment())
    backend.patch("Deployment", "web", {"metadata": {"annotations": {
        "deployment.kubernetes.io/revision": "3"}}})
    backend.patch("Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        dict(deployment()["spec"]["template"]["spec"]["containers"][0],
             image="releaselab/web:3.1-bad")]}}}})
    for rs in (_replicaset("web-aaa", 1, "releaselab/web:3.0", template_hash="aaa"),
               _replicaset("web-bbb", 2, "releaselab/web:3.1", template_hash="bbb"),
               _replicaset("web-ccc", 3, "releaselab/web:3.1-bad", template_hash="ccc"),
               _replicaset("other-zzz", 9, "releaselab/web:2.0", owner="other")):
        emu.k8s.objects[("apps/v1/replicasets", NS, rs["metadata"]["name"])] = rs
    return backend


def _without_hash(template):
    t = copy.deepcopy(template)
    t["metadata"]["labels"].pop("pod-template-hash")
    return t


def test_undo_restores_the_previous_revisions_template(rolled, emu):
    assert rolled.rollout_undo("web") == 2
    dep = emu.obj(DEPLOY)
    rs2 = emu.obj(("apps/v1/replicasets", NS, "web-bbb"))
    assert dep["spec"]["template"] == _without_hash(rs2["spec"]["template"])
    assert "pod-template-hash" not in dep["spec"]["template"]["metadata"]["labels"]
    # kubectl copies the ReplicaSet's annotations but keeps the Deployment's revision.
    assert dep["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3",
                                              "team": "rev2"}
    patch = [r for r in emu.requests if r.method == "PATCH"][-1]
    assert patch.headers["Content-Type"] == "application/json-patch+json"


def test_undo_to_a_named_revision(rolled, emu):
    assert rolled.rollout_undo("web", to_revision=1) == 1
    rs1 = emu.obj(("apps/v1/replicasets", NS, "web-aaa"))
    assert emu.obj(DEPLOY)["spec"]["template"] == _without_hash(rs1["spec"]["template"])


def test_undo_refuses_unknown_revision_and_paused_deployment(rolled, emu):
    with pytest.raises(NotFoundError, match="unable to find specified revision 9"):
        rolled.rollout_undo("web", to_revision=9)     # revision 9 belongs to "other"
    rolled.patch("Deployment", "web", {"spec": {"paused": True}})
    template_before = emu.obj(DEPLOY)["spec"]["template"]
    with pytest.raises(UsageError, match="you cannot rollback a paused deployment"):
        rolled.rollout_undo("web")
    assert emu.obj(DEPLOY)["spec"]["template"] == template_before


def test_undo_without_history(backend, emu):
    backend.apply(deployment())
    with pytest.raises(NotFoundError, match="no rollout history"):
        backend.rollout_undo("web")


def test_gateway_api_objects_through_custom_objects_api(backend, emu):
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web"},
             "spec": {"parentRefs": [{"name": "web"}],
                      "rules": [{"backendRefs": [
                          {"name": "web-stable", "port": 80, "weight": 90},
                          {"name": "web-canary", "port": 80, "weight": 10}]}]}}
    backend.apply(route)
    key = ("gateway.networking.k8s.io/v1/httproutes", NS, "web")
    assert emu.obj(key)["metadata"]["labels"][MANAGED_BY_KEY] == "releaselab"
    rules = copy.deepcopy(route["spec"]["rules"])
    rules[0]["backendRefs"][0]["weight"], rules[0]["backendRefs"][1]["weight"] = 50, 50
    backend.patch("HTTPRoute", "web", {"spec": {"rules": rules}})
    assert [b["weight"] for b in emu.obj(key)["spec"]["rules"][0]["backendRefs"]] == [50, 50]
    # CRDs take no strategic merge: the backend must send a JSON merge patch.
    patch = [r for r in emu.requests if r.method == "PATCH"][-1]
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert [i["metadata"]["name"] for i in backend.list("HTTPRoute")] == ["web"]
    backend.delete("HTTPRoute", "web")
    assert not emu.holds(key)


# -- traffic to a Service's NodePort, resolved through the emulator -------------------

class _App(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": "3.0", "pod": "web-aaa-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Version", "3.0")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_traffic_to_a_service_nodeport(emu, tmp_path):
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    port = app.server_address[1]
    server = threading.Thread(target=app.serve_forever, daemon=True)
    server.start()
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    # The kit maps 30080-30082 to the host; here the "node port" is the local app's port.
    b = make_backend(kubeconfig=str(cfg), watch=False, progress=None, host_node_ports=(port,))
    try:
        svc = next(d for d in manifests() if d["kind"] == "Service")
        svc["spec"]["ports"][0]["nodePort"] = port
        b.apply(svc)
        handle = b.start_traffic("web", rps=40)
        assert b.wait(lambda: len(b.timeline.requests) >= 20, timeout=5)
        b.stop_traffic(handle)
        reqs = list(b.timeline.requests)
        assert all(r.ok and r.version == "3.0" and r.pod == "web-aaa-1" for r in reqs)
        assert {r.target for r in reqs} == {"web"}
        assert not handle.running
    finally:
        b.close()
        app.shutdown()
        app.server_close()


def _gateway(addresses, port=80):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "web", "namespace": NS,
                         "labels": {MANAGED_BY_KEY: "releaselab"}},
            "spec": {"gatewayClassName": "cloud-provider-kind",
                     "listeners": [{"name": "http", "protocol": "HTTP", "port": port}]},
            "status": {"addresses": [{"type": "IPAddress", "value": a} for a in addresses]}}


def test_traffic_to_a_gateway_goes_to_its_status_address(emu, tmp_path):
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    port = app.server_address[1]
    threading.Thread(target=app.serve_forever, daemon=True).start()
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    b = make_backend(kubeconfig=str(cfg), watch=False, progress=None)
    try:
        # status is written by cloud-provider-kind on a real cluster; here by hand.
        emu.k8s.objects[("gateway.networking.k8s.io/v1/gateways", NS, "web")] = \
            _gateway(["127.0.0.1"], port)
        assert b.resolve_target("gateway/web") == ("127.0.0.1", port)
        handle = b.start_traffic("gateway/web", rps=40)
        assert b.wait(lambda: len(b.timeline.requests) >= 10, timeout=5)
        b.stop_traffic(handle)
        assert all(r.ok and r.target == "gateway/web" and r.version == "3.0"
                   for r in b.timeline.requests)
    finally:
        b.close()
        app.shutdown()
        app.server_close()


def test_a_gateway_without_an_address_points_at_cloud_provider_kind(backend, emu):
    emu.k8s.objects[("gateway.networking.k8s.io/v1/gateways", NS, "web")] = _gateway([])
    with pytest.raises(BackendError, match="cloud-provider-kind"):
        backend.start_traffic("gateway/web", rps=10)


def test_traffic_refuses_a_service_the_host_cannot_reach(backend):
    svc = next(d for d in manifests() if d["kind"] == "Service")
    svc["spec"]["ports"][0]["nodePort"] = 31999
    backend.apply(svc)
    with pytest.raises(UsageError, match="30080, 30081, 30082"):
        backend.start_traffic("web", rps=10)


# -- watches: pods created through the API become PodRecords ---------------------------

def test_watch_turns_pod_events_into_pod_records(emu, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    b = make_backend(kubeconfig=str(cfg), watch=True, progress=None)
    try:
        core = b._apis["core"]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web-aaa-x1", "namespace": NS,
                            "labels": {"app": "web", "pod-template-hash": "aaa"},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                "name": "web-aaa", "uid": "u-aaa"}]},
               "spec": {"nodeName": "releaselab-worker",
                        "containers": [{"name": "web", "image": "releaselab/web:3.0"}]}}
        time.sleep(0.3)        # let the watch connect before the pod appears
        core.create_namespaced_pod(NS, pod, _preload_content=False)
        assert b.wait(lambda: b.timeline.pod("web-aaa-x1") is not None, timeout=5)
        core.patch_namespaced_pod("web-aaa-x1", NS, {"status": {"conditions": [
            {"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]}},
            _preload_content=False)
        assert b.wait(lambda: b.timeline.pod("web-aaa-x1").ready is not None, timeout=5)
        core.delete_namespaced_pod("web-aaa-x1", NS, _preload_content=False)
        assert b.wait(lambda: b.timeline.pod("web-aaa-x1").gone is not None, timeout=5)
        rec = b.timeline.pod("web-aaa-x1")
        assert (rec.replicaset, rec.deployment, rec.version, rec.node) == (
            "web-aaa", "web", "3.0", "releaselab-worker")
        assert 0 <= rec.created <= rec.ready <= rec.gone
    finally:
        b.close()


def test_a_malformed_manifest_is_a_manifest_error(backend, emu):
    from releaselab.errors import ManifestError

    doc = deployment()
    doc["spec"]["replicas"] = "four"
    with pytest.raises(ManifestError, match="replicas"):
        backend.apply(doc)
    assert not emu.holds(DEPLOY)
    with pytest.raises(ManifestError, match="kind and metadata.name"):
        backend.apply({"kind": "Deployment"})


class _Tty:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return True


def test_wait_polls_in_real_time_with_a_progress_line(emu, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    tty = _Tty()
    b = make_backend(kubeconfig=str(cfg), watch=False, progress=tty, poll_interval=0.05)
    try:
        calls = []
        t0 = b.now()
        assert b.wait(lambda: calls.append(1) or len(calls) > 30, timeout=10) is True
        assert 1.0 <= b.now() - t0 < 5 and len(calls) == 31
        assert b.wait(lambda: False, timeout=0.3) is False
        assert b.wait(None, timeout=0.2) is True and b.now() - t0 >= 1.5
        lines = tty.text.split("\r")
        assert tty.text.startswith("\r[kind]") and tty.text.endswith("\n")
        assert "requests: 0 (0 failed)" in lines[-1]
    finally:
        b.close()


def test_watch_turns_replicaset_changes_into_rs_steps(emu, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    b = make_backend(kubeconfig=str(cfg), watch=True, progress=None)
    try:
        apps = b._apis["apps"]
        rs = _replicaset("web-bbb", 2, "releaselab/web:3.1", template_hash="bbb")
        rs["metadata"]["ownerReferences"][0]["uid"] = "u-web"
        rs["spec"]["replicas"] = 1
        time.sleep(0.3)        # let the watch connect first
        apps.create_namespaced_replica_set(NS, rs, _preload_content=False)
        assert b.wait(lambda: len(b.timeline.rs_steps) >= 1, timeout=5)
        apps.patch_namespaced_replica_set("web-bbb", NS, {"spec": {"replicas": 3}},
                                          _preload_content=False)
        assert b.wait(lambda: len(b.timeline.rs_steps) >= 2, timeout=5)
        assert [(s.replicaset, s.deployment, s.revision, s.from_, s.to)
                for s in b.timeline.rs_steps] == [("web-bbb", "web", 2, 0, 1),
                                                  ("web-bbb", "web", 2, 1, 3)]
    finally:
        b.close()


def test_lab_reset_deletes_the_kits_objects_by_label(backend, emu):
    from releaselab import Lab

    for doc in manifests():
        backend.apply(doc)
    Lab(backend=backend, echo=False).reset(timeout=10)
    assert not emu.holds(DEPLOY)
    assert not emu.holds(("v1/services", NS, "web"))
    lists = [r for r in emu.requests if r.method == "GET" and r.url.path.endswith("deployments")]
    assert lists and all(r.params.get("labelSelector") == f"{MANAGED_BY_KEY}=releaselab"
                         for r in lists)


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, None, "5"])
def test_wait_refuses_a_timeout_it_could_never_reach(backend, timeout):
    with pytest.raises(UsageError, match="timeout must be seconds"):
        backend.wait(None, timeout)


def test_watch_records_endpointslice_changes(emu, tmp_path):
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    b = make_backend(kubeconfig=str(cfg), watch=True, progress=None)
    try:
        discovery = b._apis["discovery"]
        eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "web-x7k2p", "namespace": NS,
                            "labels": {"kubernetes.io/service-name": "web"}},
               "addressType": "IPv4",
               "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True},
                              "targetRef": {"kind": "Pod", "name": "web-aaa-x1"}}]}
        time.sleep(0.3)
        discovery.create_namespaced_endpoint_slice(NS, eps, _preload_content=False)
        assert b.wait(lambda: len(b.timeline.endpoints) == 1, timeout=5)
        eps["endpoints"][0]["conditions"] = {"ready": False, "serving": True,
                                             "terminating": True}
        discovery.patch_namespaced_endpoint_slice("web-x7k2p", NS, {"endpoints": eps["endpoints"]},
                                                  _preload_content=False)
        assert b.wait(lambda: len(b.timeline.endpoints) == 2, timeout=5)
        first, second = b.timeline.endpoints
        assert (first.service, first.pod, first.ready) == ("web", "web-aaa-x1", True)
        assert (second.ready, second.terminating) == (False, True) and second.t >= first.t
    finally:
        b.close()
