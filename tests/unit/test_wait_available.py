"""wait_available waits like ``kubectl rollout status`` (issue 10 item 3).

A Deployment in the middle of a rollout still has all its replicas available
(the old pods count), so "availableReplicas >= replicas" accepted it and a
second run of lab 01 measured a rollout that had already happened.  Now
wait_available returns only when the controller has seen the latest spec and
updated = replicas = available — on the simulator, and on the kind backend
reading the status a real controller writes (here written by hand into the
kmock emulator, which runs no controllers).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from releaselab import Lab
from releaselab import rollout as r
from releaselab.errors import WaitTimeout

WEB = Path(__file__).resolve().parents[2] / "cluster" / "manifests" / "rolling" / "web.yaml"


def test_mid_rollout_is_waited_for_on_the_simulator():
    lab = Lab(echo=False)
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:3.1")
    lab.wait(2)
    dep = lab.get("Deployment", "web")
    assert dep["status"]["availableReplicas"] >= dep["spec"]["replicas"]      # the old test
    assert not r.rollout_status(dep)[1]                                        # not rolled out
    lab.wait_available("web")
    message, done, _ = r.rollout_status(lab.get("Deployment", "web"))
    assert done, message
    running = [p for p in lab.backend.list("Pod") if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in running} == {"releaselab/web:3.1"}


def test_a_deployment_past_its_deadline_is_an_error_at_once():
    lab = Lab(echo=False)
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    lab.set_image("web", "releaselab/web:9.9")       # not in images.yaml: ErrImagePull
    assert lab.wait_rollout("web").status == "ProgressDeadlineExceeded"
    before = lab.now()
    with pytest.raises(WaitTimeout, match='^deployment "web" exceeded its progress deadline'):
        lab.wait_available("web", timeout=300)
    assert lab.now() - before < 1.0


def _status(generation, observed, replicas, updated, available):
    return {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
            "availableReplicas": available, "readyReplicas": available}


def test_the_kind_backend_waits_for_the_status_a_controller_writes(tmp_path, monkeypatch):
    pytest.importorskip("kmock")
    from kmockutil import Emulator, write_kubeconfig

    from releaselab.kube import make_backend

    monkeypatch.delenv("RELEASELAB_KUBE_CONTEXT", raising=False)
    emu = Emulator()
    backend = None
    try:
        cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
        backend = make_backend(kubeconfig=str(cfg), watch=False, progress=None,
                               poll_interval=0.05)
        lab = Lab(backend, echo=False)
        doc = next(d for d in yaml.safe_load_all(WEB.read_text()) if d["kind"] == "Deployment")
        backend.apply(doc)
        key = ("apps/v1/deployments", "releaselab", "web")
        stored = emu.k8s.objects[key].raw
        stored["metadata"]["generation"] = 2
        # Mid-rollout: 4 available (3 old + 1 new), 1 updated, 5 pods in all.
        emu.k8s.objects[key] = dict(stored, status=_status(2, 2, 5, 1, 4))

        def controller_finishes():
            time.sleep(0.6)
            emu.k8s.objects[key] = dict(stored, status=_status(2, 2, 4, 4, 4))

        threading.Thread(target=controller_finishes, daemon=True).start()
        t0 = time.monotonic()
        monkeypatch.setattr("releaselab.lab.ENDPOINTS_SETTLE_S", 0.0)
        lab.wait_available("web", timeout=10)
        assert time.monotonic() - t0 >= 0.5       # it did not accept the mid-rollout status
        # A status the controller has not caught up with (generation 3 > observed 2) waits too.
        stored["metadata"]["generation"] = 3
        emu.k8s.objects[key] = dict(stored, status=_status(3, 2, 4, 4, 4))
        with pytest.raises(WaitTimeout):
            lab.wait_available("web", timeout=0.3)
    finally:
        if backend is not None:
            backend.close()
        emu.stop()
