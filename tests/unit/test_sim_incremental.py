"""The simulator's incremental structures give the answers a full recount would.

Scale (issue #11: 100,000 replicas, cost O(pods + events)) replaced walks over
every pod or node by counts and indexes kept per change.  Each is checked here
against the brute-force computation it replaced, at many moments of rollouts
that mix ready, unready, terminating and pending pods.
"""

from __future__ import annotations

import copy

import pytest

from releaselab import Lab
from releaselab.manifests import load
from releaselab.sim.replicaset_controller import deletion_rank

BASE = load("rolling/web.yaml")


def lab_mid_rollout(seed: int, min_ready: int = 0, replicas: int = 30, workers: int = 3,
                    node_cpu: str = "4"):
    docs = copy.deepcopy(BASE)
    spec = docs[0]["spec"]
    spec["replicas"] = replicas
    spec["minReadySeconds"] = min_ready
    spec["strategy"] = {"type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": 2}}
    container = spec["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "STARTUP_SECONDS", "value": "2"}]
    container["readinessProbe"]["periodSeconds"] = 1
    lab = Lab(echo=False, seed=seed, workers=workers, node_cpu=node_cpu)
    lab.apply(docs)
    lab.wait_available("web", timeout=600)
    lab.set_image("web", "releaselab/web:3.1")
    return lab


def brute_counts(rs, now):
    active = [p for p in rs.pods if p.active]
    ready = [p for p in active if p.ready]
    available = [p for p in ready if now >= p.ready_since + rs.min_ready_s - 1e-9]
    return len(active), len(ready), len(available)


@pytest.mark.parametrize("seed,min_ready", [(0, 0), (1, 3), (2, 7)])
def test_replicaset_counts_match_a_recount_at_every_step(seed, min_ready):
    lab = lab_mid_rollout(seed, min_ready)
    cluster = lab.backend.cluster
    for _ in range(60):
        lab.wait(0.37)
        now = cluster.kernel.now
        for rs in cluster.replicasets.values():
            available, _ = rs.available(now)
            assert (rs.n_active, rs.n_ready, available) == brute_counts(rs, now), (rs.name, now)


@pytest.mark.parametrize("seed", [0, 3])
def test_victims_are_the_lowest_ranked_pods_as_upstream_sorts_them(seed):
    lab = lab_mid_rollout(seed)
    cluster = lab.backend.cluster
    controller = cluster.replicaset_controller
    checked = 0
    for _ in range(40):
        lab.wait(0.29)
        now = cluster.kernel.now
        for rs in list(cluster.replicasets.values()):
            # upstream: related pods = every active pod of the Deployment's ReplicaSets
            related = [p for s in cluster.replicasets_of(rs.deployment) for p in s.pods
                       if p.active and p.node]
            per_node: dict = {}
            for p in related:
                per_node[p.node] = per_node.get(p.node, 0) + 1
            assert {n: c for n, c in cluster.colocated.get(rs.deployment, {}).items() if c} \
                == per_node
            active = [p for p in rs.pods if p.active]
            ranked = sorted(active, key=lambda p: deletion_rank(
                p, now, per_node.get(p.node, 0) if p.node else 0))
            for count in range(1, len(active)):
                assert controller._victims(rs, count, now) == ranked[:count], (count, now)
                checked += 1
    assert checked > 200


def test_scheduler_heap_picks_what_scoring_every_node_picks():
    # A small, full cluster: pods wait Pending, nodes fill unevenly.
    lab = lab_mid_rollout(4, replicas=12, workers=3, node_cpu="250m")
    cluster = lab.backend.cluster
    for _ in range(40):
        lab.wait(0.5)
        for cpu, memory in ((50, 32), (100, 64), (10, 1), (500, 32)):
            fits = [n for n in cluster.nodes if n.schedulable and n.pods < n.max_pods
                    and n.used_cpu_m + cpu <= n.cpu_m and n.used_memory_mi + memory <= n.memory_mi]
            best = min(fits, key=lambda n: (n.used_cpu_m / max(n.cpu_m, 1)
                                            + n.used_memory_mi / max(n.memory_mi, 1), n.index),
                       default=None)
            assert cluster._pick_node(cpu, memory) is best
    assert any(e.reason == "FailedScheduling" for e in lab.timeline.events)
    assert lab.wait_rollout("web").status == "complete"


def test_pending_pods_are_retried_when_room_frees_and_dropped_when_deleted():
    lab = Lab(echo=False, workers=1, node_cpu="200m")     # room for 4 pods of 50m
    docs = copy.deepcopy(BASE)
    docs[0]["spec"]["replicas"] = 6
    lab.apply(docs)
    lab.wait(15)
    cluster = lab.backend.cluster
    assert len(cluster._pending) == 2
    lab.scale("web", 3)                                    # frees room, deletes pending first
    lab.wait(15)
    assert not cluster._pending
    assert sorted(p["status"] for p in lab.pods()) == ["Running"] * 3
