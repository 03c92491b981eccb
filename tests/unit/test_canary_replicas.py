"""Argo Rollouts' replica counts for a canary: the basic canary (no traffic router) and the
traffic-routed one, checked against upstream's own unit tests (utils/replicaset/canary_test.go,
TestApproximateWeightedCanaryStableReplicaCounts and TestTrafficWeightToReplicas)."""

import pytest

from releaselab.errors import UsageError
from releaselab.strategies import effective_weight, replicas_for_traffic_weight, replicas_for_weight

# (replicas, weight, maxSurge) -> (canary, stable), as upstream's table lists them.
UPSTREAM = [
    ((0, 50, 0), (0, 0)), ((0, 100, 1), (0, 0)),
    ((1, 0, 0), (0, 1)), ((1, 1, 0), (0, 1)), ((1, 49, 0), (0, 1)), ((1, 50, 0), (1, 0)),
    ((1, 99, 0), (1, 0)), ((1, 100, 0), (1, 0)),
    ((1, 1, 1), (1, 1)), ((1, 50, 1), (1, 1)), ((1, 99, 1), (1, 1)), ((1, 100, 1), (1, 0)),
    ((2, 1, 0), (1, 1)), ((2, 99, 0), (1, 1)), ((2, 100, 0), (2, 0)),
    ((2, 1, 1), (1, 2)), ((2, 50, 1), (1, 1)), ((2, 99, 1), (2, 1)),
    ((3, 10, 0), (1, 2)), ((3, 49, 0), (1, 2)), ((3, 50, 0), (2, 1)),
    ((3, 10, 1), (1, 3)), ((3, 25, 1), (1, 3)), ((3, 33, 1), (1, 2)), ((3, 49, 1), (2, 2)),
    ((3, 50, 1), (2, 2)),
    ((10, 0, 1), (0, 10)), ((10, 1, 0), (1, 9)), ((10, 14, 0), (1, 9)), ((10, 15, 0), (2, 8)),
    ((10, 99, 0), (9, 1)),
    ((10, 1, 1), (1, 10)), ((10, 18, 1), (2, 9)), ((10, 20, 1), (2, 8)), ((10, 23, 1), (2, 8)),
    ((10, 24, 1), (3, 8)), ((10, 25, 1), (3, 8)), ((10, 99, 1), (10, 1)),
    ((10, 100, 1), (10, 0)),
]


@pytest.mark.parametrize("args, expected", UPSTREAM, ids=[f"r{r}-w{w}-s{s}" for (r, w, s), _ in UPSTREAM])
def test_basic_canary_counts_follow_argo(args, expected):
    replicas, weight, surge = args
    assert replicas_for_weight(weight, replicas, max_surge=surge) == expected


def test_the_issue_example_one_surge_pod_comes_closer():
    # 10 replicas, maxSurge 1, setWeight 25: 3 canary + 8 stable (27.3 %), not 3 + 7 (30 %).
    canary, stable = replicas_for_weight(25, 10, max_surge=1)
    assert (canary, stable) == (3, 8)
    assert round(effective_weight(canary, stable), 1) == 27.3
    assert replicas_for_weight(25, 10, max_surge=0) == (3, 7)


def test_surge_as_a_percentage_resolves_like_argo():
    # Argo's default maxSurge "25%" of 10 rounds up to 3: any surge above 0 allows the extra pod.
    assert replicas_for_weight(25, 10, max_surge="25%") == (3, 8)
    # "0%" is no surge at all.
    assert replicas_for_weight(25, 10, max_surge="0%") == (3, 7)


def test_without_surge_the_fleet_never_grows():
    for replicas in range(1, 21):
        for weight in range(0, 101):
            canary, stable = replicas_for_weight(weight, replicas)
            assert canary + stable == replicas
            if 0 < weight < 100 and replicas > 1 and (canary, stable) != (0, replicas):
                assert canary >= 1 and stable >= 1


def test_upstreams_fallback_when_no_candidate_is_left():
    # ceil(1.5) = 2 leaves no stable pod, floor 1 is tied with it: upstream returns (0, replicas).
    assert [(r, w) for r in range(1, 21) for w in range(1, 100)
            if replicas_for_weight(w, r) == (0, r) and r > 1] == [(2, 75), (5, 90), (10, 95)]
    assert replicas_for_weight(75, 2, max_surge=1) == (2, 1)


def test_with_surge_at_most_one_extra_pod_and_never_further_from_the_weight():
    # (On 1 replica a surge forbids the 0-canary answer, which can be closer: 1 % -> 1 + 1.)
    for replicas in range(2, 21):
        for weight in range(1, 100):
            c0, s0 = replicas_for_weight(weight, replicas)
            c1, s1 = replicas_for_weight(weight, replicas, max_surge=1)
            assert replicas <= c1 + s1 <= replicas + 1
            assert abs(effective_weight(c1, s1) - weight) <= abs(effective_weight(c0, s0) - weight)


@pytest.mark.parametrize("weight, expected", [(0, 0), (20, 2), (25, 3), (33, 4), (99, 10), (100, 10)])
def test_traffic_routed_canary_rounds_up(weight, expected):
    assert replicas_for_traffic_weight(weight, 10) == expected


@pytest.mark.parametrize("kwargs", [
    {"weight": 101, "replicas": 10}, {"weight": -1, "replicas": 10}, {"weight": 5.5, "replicas": 10},
    {"weight": 5, "replicas": -1}, {"weight": 5, "replicas": 10, "max_surge": -1},
    {"weight": 5, "replicas": 10, "max_surge": "25"}, {"weight": 5, "replicas": 10, "max_surge": True},
])
def test_bad_arguments_say_what_to_fix(kwargs):
    with pytest.raises(UsageError, match=r"weight|replicas|max_surge"):
        replicas_for_weight(**kwargs)
