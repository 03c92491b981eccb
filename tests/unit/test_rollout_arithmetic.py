"""The controller's arithmetic, with the numbers Kubernetes itself documents."""

import pytest

from releaselab import rollout as r
from releaselab.errors import ManifestError
from releaselab.rollout import RSView


@pytest.mark.parametrize("surge, unavailable, replicas, want", [
    ("25%", "25%", 10, (3, 2)),     # defaults: 2.5 up, 2.5 down
    ("39%", "39%", 10, (4, 3)),     # the docs' example
    ("25%", "25%", 4, (1, 1)),
    ("0%", "25%", 1, (0, 1)),       # both zero → unavailable 1
    ("25%", "0%", 1, (1, 0)),
    (0, "10%", 5, (0, 1)),          # 0.5 rounds down to 0, then the fencepost
    (2, 1, 6, (2, 1)),
    ("100%", "0%", 3, (3, 0)),
    ("30%", "30%", 3, (1, 0)),      # 0.9 up → 1, 0.9 down → 0
])
def test_resolve_fenceposts(surge, unavailable, replicas, want):
    assert r.resolve_fenceposts(surge, unavailable, replicas) == want


@pytest.mark.parametrize("value", ["25 percent", "%", "1.5%", "-5%", True])
def test_malformed_percentages_are_rejected(value):
    with pytest.raises(ManifestError):
        r.int_or_percent(value, 10, round_up=True, field="maxSurge")


@pytest.mark.parametrize("replicas, surge, specs, new, want", [
    (4, 1, [4, 0], 0, 1),       # start of a surge-1 rollout
    (4, 1, [4, 1], 1, 1),       # at the cap: no growth until an old pod goes
    (4, 1, [3, 1], 1, 2),
    (10, 3, [10, 0], 0, 3),
    (10, 3, [8, 3], 3, 5),      # reference s1's second step
    (10, 0, [10, 0], 0, 0),
    (3, 5, [3, 0], 0, 3),       # never past replicas
])
def test_new_rs_new_replicas(replicas, surge, specs, new, want):
    views = [RSView("old", specs[0], created=0), RSView("new", specs[1], created=1)]
    assert r.new_rs_new_replicas(replicas, surge, views, RSView("new", new, created=1)) == want


@pytest.mark.parametrize("replicas, unavailable, specs, new_available, want", [
    (4, 0, [4, 1], 0, 0),       # the new pod is not available: nothing may go
    (4, 0, [4, 1], 1, 1),
    (10, 2, [10, 3], 0, 2),     # 13 − 8 − 3: reference s1, old 10 → 8
    (10, 2, [10, 0], 0, 2),
    (4, 1, [4, 1], 0, 1),       # 5 − 3 − 1: reference s5, old 4 → 3
])
def test_max_scaled_down(replicas, unavailable, specs, new_available, want):
    new = RSView("new", specs[1], available=new_available, created=1)
    views = [RSView("old", specs[0], available=specs[0], created=0), new]
    assert r.max_scaled_down(replicas, unavailable, views, new) == want


def test_cleanup_takes_unhealthy_old_pods_first_oldest_rs_first():
    old = [RSView("b", 3, available=1, created=2), RSView("a", 2, available=0, created=1)]
    assert r.cleanup_unhealthy_replicas(old, 3) == {"a": 0, "b": 2}
    assert r.cleanup_unhealthy_replicas(old, 1) == {"a": 1}


def test_scale_down_respects_min_available_oldest_first():
    old = [RSView("b", 4, available=4, created=2), RSView("a", 2, available=2, created=1)]
    new = RSView("new", 2, available=2, created=3)
    # 8 available, minAvailable 8 − 1 = 7 → one pod may go, from the oldest RS.
    assert r.scale_down_old_for_rolling(8, 1, [*old, new], old) == {"a": 1}
    assert r.scale_down_old_for_rolling(8, 0, [*old, new], old) == {}


def test_proportional_scaling_documented_example():
    # docs: 10 → 15 replicas mid-rollout with maxSurge 3: old 8 → 11, new 5 → 7
    sizes = r.proportional_sizes(15, 3, [RSView("old", 8, created=0, max_replicas=13),
                                         RSView("new", 5, created=1, max_replicas=13)], 13)
    assert sizes == {"old": 11, "new": 7}


def test_proportional_scaling_down_never_below_zero():
    sizes = r.proportional_sizes(2, 0, [RSView("old", 3, created=0, max_replicas=6),
                                        RSView("new", 3, created=1, max_replicas=6)], 6)
    assert sizes == {"old": 1, "new": 1}
    assert sum(sizes.values()) == 2


def _deployment(status, generation=1, replicas=4, reason=None):
    conditions = [{"type": "Progressing", "status": "False", "reason": reason}] if reason else []
    return {"metadata": {"name": "web", "generation": generation}, "spec": {"replicas": replicas},
            "status": {**status, "conditions": conditions}}


@pytest.mark.parametrize("status, generation, reason, message, done, failed", [
    ({"observedGeneration": 1}, 2, None, "Waiting for deployment spec update to be observed...",
     False, False),
    ({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 5}, 2, None,
     'Waiting for deployment "web" rollout to finish: 1 out of 4 new replicas have been updated...',
     False, False),
    ({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 5, "availableReplicas": 4}, 2,
     None, 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
     'termination...', False, False),
    ({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 4, "availableReplicas": 3}, 2,
     None, 'Waiting for deployment "web" rollout to finish: 3 of 4 updated replicas are '
     'available...', False, False),
    ({"observedGeneration": 2, "updatedReplicas": 4, "replicas": 4, "availableReplicas": 4}, 2,
     None, 'deployment "web" successfully rolled out', True, False),
    ({"observedGeneration": 2}, 2, r.TIMED_OUT, 'deployment "web" exceeded its progress deadline',
     False, True),
])
def test_rollout_status_reads_like_kubectl(status, generation, reason, message, done, failed):
    assert r.rollout_status(_deployment(status, generation, reason=reason)) == (message, done, failed)
