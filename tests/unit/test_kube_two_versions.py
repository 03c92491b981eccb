"""Lab 05's kind path as far as it runs here: the kube backend against the kmock emulator, and
its user prober against a real server process with a real PostgreSQL.

What was NOT run here (no Docker, no kind): the official postgres and redis
images starting in pods, their readiness probes, the PersistentVolumeClaims
being bound by kind's local-path provisioner, kube-proxy routing users to
pods. The emulator runs no controllers, so a StatefulSet never becomes ready
in it; that is what the timeout test below relies on.
"""

from __future__ import annotations

import pytest
from test_app_server import start  # noqa: F401  (the local-process fixture)
from kmockutil import Emulator, write_kubeconfig
from test_kube_backend import NS

pytest.importorskip("kmock")
pytest.importorskip("kubernetes")

from releaselab import Lab  # noqa: E402
from releaselab.checks import two_versions as tv  # noqa: E402
from releaselab.errors import WaitTimeout  # noqa: E402
from releaselab.kube import make_backend  # noqa: E402

STS = ("apps/v1/statefulsets", NS, "postgres")
PVC = ("v1/persistentvolumeclaims", NS, "data-postgres-0")


@pytest.fixture
def emu():
    e = Emulator()
    for res in ("apps/v1/statefulsets", "v1/persistentvolumeclaims"):
        e.k8s.resources[res] = {}
    yield e
    e.stop()


def kube(emu, tmp_path, **kw):
    cfg = write_kubeconfig(tmp_path / "kubeconfig", emu.url)
    return make_backend(kubeconfig=str(cfg), watch=False, progress=None, request_timeout=10,
                        **kw)


def test_the_data_manifests_go_to_the_api_server_as_they_are(emu, tmp_path):
    backend = kube(emu, tmp_path)
    lab = Lab(backend=backend, echo=False)
    try:
        lab.apply("data/postgres.yaml")
        sts = emu.obj(STS)
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == \
            {"storage": "1Gi"}
        assert sts["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "releaselab"
        assert lab.get("StatefulSet", "postgres")["spec"]["serviceName"] == "postgres"
        # The claim the StatefulSet controller would make from the template (kmock has none).
        template = sts["spec"]["volumeClaimTemplates"][0]
        backend.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": "data-postgres-0", "namespace": NS,
                                    "labels": template["metadata"]["labels"]},
                       "spec": template["spec"]})
        lab.delete("StatefulSet", "postgres")
        lab.delete("PersistentVolumeClaim", "data-postgres-0")
        assert not emu.holds(STS) and not emu.holds(PVC)
    finally:
        backend.close()


def test_start_data_cleans_up_then_says_in_one_line_what_did_not_become_ready(emu, tmp_path):
    backend = kube(emu, tmp_path)
    lab = Lab(backend=backend, echo=False)
    try:
        lab.apply("data/postgres.yaml")
        with pytest.raises(WaitTimeout, match="PostgreSQL and Redis becoming ready did not "
                                              "happen within 1 s"):
            tv.start_data(lab, timeout=1.0)
        assert emu.holds(STS) and emu.holds(("apps/v1/statefulsets", NS, "redis"))
    finally:
        backend.close()


def test_users_with_cookies_and_orders_through_the_kube_backend(emu, tmp_path, pg, start):
    server = start(DATABASE_URL=pg.url, MIGRATE=1, VERSION="5.0")
    backend = kube(emu, tmp_path, host_node_ports=(server.port,))
    lab = Lab(backend=backend, echo=False)
    try:
        objects = tv.variant()
        service = next(o for o in objects if o["kind"] == "Service")
        # "The node port" is the local app: a port outside the API server's node-port
        # range, so the Service goes straight to the backend (Lab.apply would refuse it).
        service["spec"]["ports"][0]["nodePort"] = server.port
        backend.apply(service)
        with lab.traffic(rps=30, users=6, workload="shop") as run:
            lab.wait_until(lambda: sum(q.op == "read" for q in run.requests) >= 6, 20,
                           "six orders read back")
        ops = {q.op for q in run.requests}
        assert ops == {"login", "me", "write", "read"}
        assert all(q.ok for q in run.requests), [q for q in run.requests if not q.ok][:3]
        assert run.logged_out == 0 and run.orders
        assert {o.audit for o in run.orders} == {"intact"}     # the audit ran at stop
        assert "0 users logged out" in repr(run.summary())
    finally:
        backend.close()
