"""Older clusters and the API server's own errors (issue 10 item 8).

Against kmock's emulator told to be an older Kubernetes (its ``/version``)
and to answer a server-side apply the way a 1.28 API server answers one
with ``lifecycle.preStop.sleep`` (the body below is the real message format,
kubernetes/kubernetes#122480).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import yaml

from releaselab.checks.shutdown import prestop_hook, shutdown_settings, variant
from releaselab.errors import BackendError, ManifestError
from releaselab.kube import _version

WEB = Path(__file__).resolve().parents[2] / "cluster" / "manifests" / "rolling" / "web.yaml"
SLEEP_500 = ('failed to create typed patch object (releaselab/web; apps/v1, Kind=Deployment): '
             '.spec.template.spec.containers[name="web"].lifecycle.preStop.sleep: '
             'field not declared in schema')


def test_versions_parse_as_servers_report_them():
    assert _version.parse_version("v1.28.7") == (1, 28, 7)
    assert _version.parse_version("v1.30.0+k3s1") == (1, 30, 0)
    assert _version.parse_version("v1.36.1-gke.100") == (1, 36, 1)
    assert _version.parse_version("nonsense") is None and _version.parse_version(None) is None
    assert _version.older_than_needed((1, 29, 9)) and not _version.older_than_needed((1, 30, 0))
    assert not _version.older_than_needed(None)


def test_advice_for_an_older_cluster_is_one_line_with_what_to_do():
    text = _version.advice((1, 28, 7))
    assert text.startswith("the cluster runs Kubernetes v1.28.7, older than the 1.30")
    assert "releaselab cluster down && releaselab cluster up" in text and "\n" not in text
    assert _version.advice((1, 36, 1)) == ""


def test_unknown_field_answer_names_the_field_and_the_version():
    text = _version.unknown_field_error(SLEEP_500, (1, 28, 7))
    assert text.startswith("the API server (Kubernetes v1.28.7) does not know the field "
                           'spec.template.spec.containers[name="web"].lifecycle.preStop.sleep')
    assert "1.30" in text and "exec" in text
    other = _version.unknown_field_error(SLEEP_500.replace("lifecycle.preStop.sleep",
                                                           "resizePolicy"), None)
    assert "an unknown version" in other and "remove the field" in other
    assert _version.unknown_field_error("deployments.apps \"web\" not found", None) is None


@pytest.fixture
def old_cluster(tmp_path, monkeypatch):
    pytest.importorskip("kmock")
    import kmock
    from kmockutil import Emulator, write_kubeconfig

    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    emu = Emulator(version="v1.28.7")
    path = "/apis/apps/v1/namespaces/releaselab/deployments/web"
    emu.k8s[f"patch {path}"] << kmock.Response(status=500, payload={
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": SLEEP_500, "code": 500})
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    yield emu, str(cfg)
    emu.stop()


def test_the_kind_backend_says_once_what_to_do_on_an_older_server(old_cluster, capsys):
    from releaselab import Lab
    from releaselab.kube import make_backend

    emu, cfg = old_cluster
    backend = make_backend(kubeconfig=cfg, watch=False, progress=None)
    try:
        assert backend.server_version == (1, 28, 7)
        lab = Lab(backend)
        out = capsys.readouterr().out.splitlines()
        assert out == ["note: " + _version.advice((1, 28, 7))]
        # The Deployment exists (created without the hook); applying the manifest with its
        # preStop sleep is the server-side apply a 1.28 server refuses.
        doc = next(d for d in yaml.safe_load_all(WEB.read_text()) if d["kind"] == "Deployment")
        plain = copy.deepcopy(doc)
        plain["spec"]["template"]["spec"]["containers"][0].pop("lifecycle")
        emu.k8s.objects[("apps/v1/deployments", "releaselab", "web")] = plain
        with pytest.raises(ManifestError) as err:
            backend.apply(doc)
        message = str(err.value)
        assert message.startswith("apply Deployment 'web': the API server (Kubernetes v1.28.7) "
                                  "does not know the field spec.template.spec.containers")
        assert "\n" not in message
        # variant(prestop=) for this Lab writes the hook the server knows.
        fixed = variant("shutdown/prestop.yaml", prestop=3, lab=lab)
        hook = next(d for d in fixed if d["kind"] == "Deployment")["spec"]["template"]["spec"][
            "containers"][0]["lifecycle"]
        assert hook == {"preStop": {"exec": {"command": ["sleep", "3"]}}}
    finally:
        backend.close()


def test_prestop_hook_form_follows_the_server_and_the_manifest():
    class Backend:
        server_version = None

    class FakeLab:
        backend = Backend()

    lab = FakeLab()
    assert prestop_hook(2, lab) == {"preStop": {"sleep": {"seconds": 2}}}      # unknown: sleep
    Backend.server_version = (1, 36, 1)
    assert prestop_hook(2, lab) == {"preStop": {"sleep": {"seconds": 2}}}
    Backend.server_version = (1, 29, 4)
    assert prestop_hook(2, lab) == {"preStop": {"exec": {"command": ["sleep", "2"]}}}
    exec_form = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert prestop_hook(1, None, exec_form) == {"preStop": {"exec": {"command": ["sleep", "1"]}}}


def test_both_forms_mean_the_same_sleep_on_the_simulator():
    sleep_form = shutdown_settings(variant("shutdown/prestop.yaml", prestop=3))
    class Old:
        class backend:
            server_version = (1, 28, 7)
    exec_form = shutdown_settings(variant("shutdown/prestop.yaml", prestop=3, lab=Old))
    assert sleep_form.prestop_s == exec_form.prestop_s == 3


def test_a_cluster_that_does_not_answer_fails_at_once(tmp_path, monkeypatch):
    pytest.importorskip("kubernetes")
    from kmockutil import write_kubeconfig
    from netutil import free_port

    from releaselab.kube import make_backend

    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    cfg = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    with pytest.raises(BackendError) as err:
        make_backend(kubeconfig=str(cfg), progress=None)
    assert time.monotonic() - t0 < 10
    assert str(err.value).startswith("ask the API server its version: cannot reach the API "
                                     "server at http://127.0.0.1:")
    assert "releaselab cluster status" in str(err.value)
