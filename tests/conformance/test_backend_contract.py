"""One backend-agnostic suite: what every cluster behind a Lab must do.

It runs on the simulator always, and on a real kind cluster when
``RELEASELAB_BACKEND=kind`` (see .github/workflows/labs-on-kind.yml; that
path needs Docker and was not run on the machine this kit was built on).
The kube backend's client calls are also exercised against a local API
emulator in tests/unit/test_kube_backend.py, which runs no controllers, so
rollouts themselves are covered there only up to the API calls.

Assertions are about what a reader sees, with margins a real cluster meets.
"""

from __future__ import annotations

import os

import pytest

from releaselab import Lab
from releaselab.errors import NotFoundError

BACKEND = os.environ.get("RELEASELAB_BACKEND", "sim")


@pytest.fixture
def lab():
    lab = Lab(backend=BACKEND, echo=False)
    for kind, name in (("Deployment", "web"), ("Service", "web")):
        try:
            lab.delete(kind, name)
        except NotFoundError:
            pass
    lab.apply("rolling/web.yaml")
    lab.wait_available("web", timeout=300)
    yield lab
    lab.close()


def _image(lab):
    return lab.get("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]


def test_apply_makes_every_replica_ready(lab):
    pods = lab.pods({"app": "web"})
    assert len(pods) == 4 and all(p["ready"] == "1/1" for p in pods)
    assert {p["version"] for p in pods} == {"3.0"}


def test_rolling_update_serves_both_versions_and_drops_nothing(lab):
    with lab.traffic(rps=20) as run:
        lab.wait(2)
        lab.set_image("web", "releaselab/web:3.1")
        assert lab.wait_rollout("web", timeout=300).complete
        lab.wait_settled("web", timeout=300)
        lab.wait(2)
    versions = {q.version for q in run.requests if q.ok}
    assert versions == {"3.0", "3.1"}
    assert run.failed == 0, run.summary()
    assert {p["version"] for p in lab.pods({"app": "web"})} == {"3.1"}


def test_undo_restores_the_previous_image(lab):
    lab.set_image("web", "releaselab/web:3.1")
    assert lab.wait_rollout("web", timeout=300).complete
    lab.rollout_undo("web")
    assert lab.wait_rollout("web", timeout=300).complete
    assert _image(lab) == "releaselab/web:3.0"


def test_a_bad_release_shows_errors(lab):
    lab.set_image("web", "releaselab/web:3.1-bad")
    assert lab.wait_rollout("web", timeout=300).complete
    lab.wait_settled("web", timeout=300)
    with lab.traffic(rps=20) as run:
        lab.wait(10)
    assert run.summary().by_cause.get("http_500", 0) > 0.15 * run.sent


def test_an_image_that_does_not_exist_stalls_the_rollout(lab):
    lab.set_image("web", "releaselab/web:0.0-does-not-exist")
    result = lab.wait_rollout("web", timeout=300)
    assert result.status == "ProgressDeadlineExceeded"
    stuck = [p for p in lab.pods({"app": "web"}) if p["version"] == "0.0-does-not-exist"
             or p["status"] in ("ErrImagePull", "ImagePullBackOff")]
    assert stuck and all(p["status"] in ("ErrImagePull", "ImagePullBackOff") for p in stuck)
    assert sum(p["ready"] == "1/1" for p in lab.pods({"app": "web"})) == 4   # still serving


def test_unknown_objects_are_clear_errors(lab):
    with pytest.raises(NotFoundError):
        lab.get("Deployment", "does-not-exist")
