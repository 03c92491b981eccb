"""The kube backend's dry run and Lab.apply's all-or-nothing, against the kmock emulator.

What the emulator cannot show: it implements neither server-side apply nor
dryRun, so a dry-run apply of a new object answers 404 there and the kit's
own checks stand (a real API server runs its full validation and admission
for ``dryRun=All`` and stores nothing).  The tests assert the requests the
backend made and what the emulator ended up holding.
"""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("kmock")
pytest.importorskip("kubernetes")

# The backend fixture and helpers of the kube backend's own tests (`emu` is in conftest.py).
from test_kube_backend import DEPLOY, NS, backend, deployment, manifests  # noqa: E402,F401

from releaselab import Lab  # noqa: E402
from releaselab.errors import ContextRefusedError, ManifestError  # noqa: E402


def test_lab_apply_dry_runs_every_document_before_creating_any(backend, emu):
    lab = Lab(backend=backend, echo=False)
    lab.apply("rolling/web.yaml")
    dry = [r for r in emu.requests if r.method == "PATCH" and r.params.get("dryRun") == "All"]
    assert len(dry) == 2 and all(r.params.get("fieldManager") == "releaselab" for r in dry)
    first_create = next(i for i, r in enumerate(emu.requests) if r.method == "POST")
    last_dry = max(i for i, r in enumerate(emu.requests) if r.params.get("dryRun") == "All")
    assert last_dry < first_create
    assert emu.holds(DEPLOY) and emu.holds(("v1/services", NS, "web"))


def test_a_bad_later_document_leaves_nothing_created(backend, emu):
    lab = Lab(backend=backend, echo=False)
    bad = copy.deepcopy(deployment())
    bad["metadata"]["name"] = "web-2"
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = 3.1
    with pytest.raises(ManifestError, match="cannot unmarshal number into Go struct field "
                                            "Container.spec.template.spec.containers.image"):
        lab.apply(manifests() + [bad])
    assert not [r for r in emu.requests if r.method in ("POST", "PUT")]
    assert not emu.holds(DEPLOY)


def test_another_namespace_gets_the_same_line_on_both_backends(backend, emu):
    doc = copy.deepcopy(deployment())
    doc["metadata"]["namespace"] = "default"
    with pytest.raises(ContextRefusedError) as on_kind:
        Lab(backend=backend, echo=False).apply(doc)
    with pytest.raises(ContextRefusedError) as on_kind_direct:
        backend.dry_run(doc)
    with pytest.raises(ContextRefusedError) as on_sim:
        Lab(echo=False).apply(doc)
    assert str(on_kind.value) == str(on_sim.value) == str(on_kind_direct.value)
    assert "namespace 'default': the kit only works in namespace 'releaselab'" in str(on_sim.value)
    assert not [r for r in emu.requests if r.method in ("POST", "PUT", "PATCH")]
