"""Which backend a checker uses (#10 item 2).

A checker that simulates the reader's *answer* uses the simulator whatever
``RELEASELAB_BACKEND`` says: with it set to ``kind`` and the kind backend
made to fail loudly, every such checker (and the rolling widget) still
answers.  The helpers that build the reader's *own* run follow the
environment — they ask for the kind backend — and the checkers that judge a
run read it without building any Lab.
"""

from __future__ import annotations

import pytest
import yaml

import releaselab.kube
from releaselab import Lab
from releaselab.checks import _core, bluegreen, canary, rolling, shutdown
from releaselab.sim import SimBackend
from releaselab.strategies import Analysis, steps_for


class RealClusterTouched(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _fresh_feedback():
    _core._reset()


@pytest.fixture
def kind_refused(monkeypatch):
    """RELEASELAB_BACKEND=kind, and any attempt to build the kind backend fails the test."""
    def refuse(*args, **kwargs):
        raise RealClusterTouched("a checker tried to build the kind backend")

    monkeypatch.setenv("RELEASELAB_BACKEND", "kind")
    monkeypatch.setattr(releaselab.kube, "make_backend", refuse)


@pytest.fixture
def kind_stand_in(monkeypatch):
    """RELEASELAB_BACKEND=kind, served by a simulator that records that it was asked for."""
    asked = []

    def stand_in(*args, **kwargs):
        asked.append(kwargs)
        return SimBackend(seed=0)

    monkeypatch.setenv("RELEASELAB_BACKEND", "kind")
    monkeypatch.setattr(releaselab.kube, "make_backend", stand_in)
    return asked


def _fixed_no_probe():
    docs = rolling.manifests.load(rolling.NO_PROBE)
    docs[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1}
    return docs


def _fixed_broken():
    return yaml.safe_dump_all(shutdown.variant(
        "shutdown/broken.yaml", prestop=2, grace=10,
        readiness={"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1,
                   "timeoutSeconds": 3, "failureThreshold": 1}))


def test_the_guard_works(kind_refused):
    with pytest.raises(RealClusterTouched):
        Lab()                                          # what a careless checker would do


SIMULATING = [
    ("01.1", lambda: rolling.check_full_capacity(1, 0)),
    ("01.2", lambda: rolling.check_prediction(3, 15.9)),
    ("01.3", lambda: rolling.check_readiness_fix(_fixed_no_probe())),
    ("03.1", lambda: canary.replica_split(1, 9)),
    ("03.4", lambda: canary.plan_within_budget(steps_for([5, 25, 50, 100], 10),
                                               Analysis(interval_s=2, min_requests=20))),
    ("04.1", lambda: shutdown.check_grace_period(10)),
    ("04.2", lambda: shutdown.check_predictions({"A": False, "B": True, "C": False, "D": True,
                                                 "E": False})),
    ("04.3", lambda: shutdown.check_smallest_prestop(2)),
    ("04.4", lambda: shutdown.check_fixed_manifest(_fixed_broken())),
]


@pytest.mark.parametrize("exercise, check", SIMULATING, ids=[e for e, _ in SIMULATING])
def test_a_checker_that_simulates_the_answer_never_builds_the_kind_backend(exercise, check,
                                                                          kind_refused):
    verdict = check()
    assert verdict.exercise == exercise
    assert verdict.passed, verdict.message             # it ran, on the simulator
    checker = getattr({"01": rolling, "03": canary, "04": shutdown}[exercise[:2]],
                      _core.EXERCISES[exercise].checker)
    assert "simulat" in checker.__doc__.lower()        # and its docstring says so


def test_the_widget_simulates_too(kind_refused):
    pytest.importorskip("ipywidgets")
    from releaselab.widgets import explore_rolling

    explorer = explore_rolling()
    assert explorer.rollout is not None and explorer.rollout.complete


@pytest.mark.parametrize("build", [
    lambda: canary.fresh_lab("gateway"),
    lambda: bluegreen.fresh_lab(seed=2),
    lambda: rolling.bad_release(seed=4),
], ids=["canary.fresh_lab", "bluegreen.fresh_lab", "rolling.bad_release"])
def test_helpers_for_the_readers_own_run_follow_the_environment(build, kind_stand_in):
    lab = build()
    assert len(kind_stand_in) == 1                     # they asked for the kind backend
    assert isinstance(lab, Lab)


def test_a_checker_that_judges_the_readers_run_reads_it_without_building_a_lab(kind_refused):
    lab = rolling.bad_release(seed=4, echo=False, backend="sim")
    with lab.traffic(rps=50) as run:
        lab.rollout_undo("web")
        lab.wait_rollout("web")
        lab.wait_settled("web")
        lab.wait(5)
    assert rolling.check_rollback(lab, run).passed
    assert "reader's own run" in rolling.check_rollback.__doc__
    for judge in (bluegreen.preview_verified, bluegreen.switch_dropped_nothing,
                  bluegreen.no_room_for_green, bluegreen.bad_release_never_reached_users,
                  canary.caught_at_first_step, canary.blast_radius_vs_big_bang):
        assert "reads the reader's" in judge.__doc__.lower().replace("\n", " ")
