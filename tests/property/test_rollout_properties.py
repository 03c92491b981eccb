"""Properties of every rolling update, over random settings (hypothesis).

At every step: pods counted by the controller (Σ spec.replicas) ≤ replicas +
maxSurge, and ready pods ≥ replicas − maxUnavailable; a rollout whose pods
become ready completes; undo restores the previous template; the same seed
gives the same Timeline.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releaselab import Lab
from releaselab import rollout as r
from releaselab.manifests import load
from releaselab.report import ready_series

BASE = load("rolling/web.yaml")

int_or_pct = st.one_of(st.integers(0, 4), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@st.composite
def settings_(draw):
    surge = draw(int_or_pct)
    unavailable = draw(int_or_pct)
    if surge in (0, "0%") and unavailable in (0, "0%"):
        unavailable = 1
    return {"replicas": draw(st.integers(1, 12)), "surge": surge, "unavailable": unavailable,
            "start": draw(st.sampled_from([0, 0.5, 1, 3])),
            "min_ready": draw(st.sampled_from([0, 0, 1, 2])),
            "period": draw(st.sampled_from([1, 2])), "seed": draw(st.integers(0, 3))}


def _manifest(s):
    docs = copy.deepcopy(BASE)
    spec = docs[0]["spec"]
    spec["replicas"] = s["replicas"]
    spec["strategy"]["rollingUpdate"] = {"maxSurge": s["surge"], "maxUnavailable": s["unavailable"]}
    spec["minReadySeconds"] = s["min_ready"]
    spec["progressDeadlineSeconds"] = 600
    container = spec["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "STARTUP_SECONDS", "value": str(s["start"])}]
    container["readinessProbe"]["periodSeconds"] = s["period"]
    return docs


def _rollout(s):
    lab = Lab(seed=s["seed"], echo=False)
    lab.apply(_manifest(s))
    lab.wait_available("web")
    with lab.traffic(rps=20):
        start = lab.now()
        lab.set_image("web", "releaselab/web:3.1")
        result = lab.wait_rollout("web")
        lab.wait_settled("web")
    return lab, start, result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_())
def test_rolling_update_invariants(s):
    lab, start, result = _rollout(s)
    assert result.complete
    surge, unavailable = r.resolve_fenceposts(s["surge"], s["unavailable"], s["replicas"])
    specs: dict = {}
    for step in lab.timeline.rs_steps:
        specs[step.replicaset] = step.to
        if step.t >= start:
            assert sum(specs.values()) <= s["replicas"] + surge
    end = lab.timeline.rs_steps[-1].t
    assert min(n for _, n in ready_series(lab.timeline, start, end)) >= s["replicas"] - unavailable
    assert {p["version"] for p in lab.pods()} == {"3.1"}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_())
def test_undo_restores_the_previous_template(s):
    lab, _, _ = _rollout(s)
    before = lab.get("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]
    lab.rollout_undo("web")
    assert lab.wait_rollout("web").complete
    image = lab.get("Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert (before, image) == ("releaselab/web:3.1", "releaselab/web:3.0")
    lab.wait_settled("web")
    assert {p["version"] for p in lab.pods()} == {"3.0"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings_())
def test_same_seed_same_timeline(s):
    a, _, _ = _rollout(s)
    b, _, _ = _rollout(s)
    assert a.timeline.requests == b.timeline.requests
    assert a.timeline.rs_steps == b.timeline.rs_steps
    assert [(e.t, e.reason, e.message, e.count) for e in a.timeline.events] == \
        [(e.t, e.reason, e.message, e.count) for e in b.timeline.events]
