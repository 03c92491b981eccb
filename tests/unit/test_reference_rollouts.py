"""The simulator against rollouts recorded on a real Kubernetes v1.28 cluster.

As tests/data/reference/README.md says: s4–s7 (each step waits for one pod)
must give the same rs_steps sequence and durations within 15 %; s1–s3
(several pods ready together, so the order depends on observation timing)
must keep the invariants, the step count within ±30 % and the duration
within 15 %.  One timing profile serves every scenario.
"""

from __future__ import annotations

import pytest

from releaselab import rollout as r
from reference_replay import replay, scenarios

SCENARIOS = scenarios()
EXACT = ("s4", "s5", "s6", "s7")


def _sequence(steps):
    return [(s["rs"], s["from"], s["to"]) for s in steps]


@pytest.fixture(scope="module")
def replays():
    return {i: replay(sc) for i, sc in enumerate(SCENARIOS)}


@pytest.mark.parametrize("index", range(len(SCENARIOS)),
                         ids=[f"{s['scenario']}#{i}" for i, s in enumerate(SCENARIOS)])
def test_replay_matches_reference(index, replays):
    sc, got = SCENARIOS[index], replays[index]
    for key, want in sc["outcome"].items():
        assert got["outcome"][key] == pytest.approx(want, rel=0.15), key
    if sc["scenario"].startswith(EXACT):
        assert _sequence(got["rs_steps"]) == _sequence(sc["rs_steps"])
    else:
        assert len(got["rs_steps"]) == pytest.approx(len(sc["rs_steps"]), rel=0.30)
    for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                  "unavailableReplicas"):
        assert got["status"].get(field) == sc["final_status"].get(field), field
    want = {(c["type"], c["status"], c["reason"]) for c in sc["conditions"]}
    assert {(c["type"], c["status"], c["reason"]) for c in got["status"]["conditions"]} == want


@pytest.mark.parametrize("index", [i for i, s in enumerate(SCENARIOS)
                                   if not s["scenario"].startswith(EXACT)])
def test_surge_scenarios_keep_the_invariants(index, replays):
    """Never more than replicas + surge pods counted; never fewer available than replicas − unavailable."""
    sc, got = SCENARIOS[index], replays[index]
    params = sc["params"]
    ru = params["strategy"]["rollingUpdate"]
    lab = got["lab"]
    spec = {"A": 0, "B": 0}
    replicas = params["replicas"]
    for step in got["rs_steps"]:
        spec[step["rs"]] = step["to"]
        if "scale_mid_to" in params and step["t"] >= params["scale_after_s"]:
            replicas = params.get("scale_mid_to", replicas)
        surge, _ = r.resolve_fenceposts(ru["maxSurge"], ru["maxUnavailable"], replicas)
        if step["t"] > 0:
            assert sum(spec.values()) <= replicas + surge
    from releaselab.report import ready_series
    trigger = lab.timeline.rs_steps[1].t
    _, unavailable = r.resolve_fenceposts(ru["maxSurge"], ru["maxUnavailable"], params["replicas"])
    end = lab.timeline.rs_steps[-1].t
    assert min(n for _, n in ready_series(lab.timeline, trigger, end)) >= \
        params["replicas"] - unavailable


def test_scaling_events_are_combined_after_ten_like_the_reference(replays):
    index = next(i for i, s in enumerate(SCENARIOS) if s["scenario"].startswith("s1"))
    lab = replays[index]["lab"]
    scaling = [e for e in lab.timeline.events if e.reason == "ScalingReplicaSet"]
    assert len(scaling) == len(SCENARIOS[index]["scaling_events"]) == 10
    assert scaling[-1].message.startswith("(combined from similar events): Scaled down")
    assert scaling[0].message.startswith("Scaled up replica set web-") and " from " not in \
        scaling[0].message
