"""The simulator's own arguments are bounded, and no allowed value makes it hang.

Costs are counted in kernel events (deterministic), never timed: a wait that
runs a few thousand events returns in a moment on any machine.
"""

from __future__ import annotations

import copy
import math

import pytest

from releaselab.errors import UsageError
from releaselab.manifests import load
from releaselab.sim.backend import SimBackend
from releaselab.sim.profile import KIND_LIKE, RANGES, TimingProfile

BASE = load("rolling/web.yaml")


def crash_looping(env=None, image=None) -> list:
    docs = copy.deepcopy(BASE)
    container = docs[0]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": k, "value": v}
                        for k, v in (env or {"ERROR_RATE": "lots"}).items()]
    if image:
        container["image"] = image
    return docs


@pytest.mark.parametrize("name,value,words", [
    ("restart_backoff_s", 0, "from 1 to 3600"),
    ("image_pull_backoff_s", 0.5, "from 1 to 3600"),
    ("proxy_sync_s", float("nan"), "from 0 to 3600"),
    ("proxy_sync_s", float("inf"), "from 0 to 3600"),
    ("proxy_sync_s", -1, "from 0 to 3600"),
    ("proxy_sync_s", True, "from 0 to 3600"),
    ("proxy_sync_s", "1", "from 0 to 3600"),
    ("network_rtt_ms", 1e9, "milliseconds from 0 to 60000"),
    ("restart_backoff_max_s", 5, "must be >= restart_backoff_s"),
])
def test_profile_values_are_checked_with_their_range(name, value, words):
    with pytest.raises(UsageError, match=f"^timing profile {name}=") as info:
        KIND_LIKE.with_overrides({name: value})
    assert words in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UsageError):          # a TimingProfile built directly, too
        TimingProfile(**{name: value})


def test_every_profile_field_has_a_range_and_the_defaults_lie_inside():
    for name, (low, high) in RANGES.items():
        assert 0 <= low < high and math.isfinite(high), name
        assert low <= getattr(KIND_LIKE, name) <= high, name


def test_profile_must_be_a_dict_or_a_profile():
    with pytest.raises(UsageError, match="pass a dict of timing fields"):
        SimBackend(profile=["proxy_sync_s", 1])


@pytest.mark.parametrize("kwargs,words", [
    ({"workers": 0}, "workers=0: must be a whole number of worker nodes from 1 to 5,000"),
    ({"workers": 2.5}, "workers=2.5: must be a whole number"),
    ({"workers": True}, "workers=True: must be a whole number"),
    ({"workers": 10**6}, "from 1 to 5,000"),
    ({"node_cpu": "lots"}, "node_cpu='lots': must be a cpu quantity from 100m to 1024"),
    ({"node_cpu": float("nan")}, "node_cpu=nan: must be a cpu quantity"),
    ({"node_cpu": "0"}, "node_cpu='0': must be a cpu quantity"),
    ({"node_cpu": "10m"}, "from 100m to 1024"),
    ({"node_cpu": None}, "node_cpu=None"),
    ({"node_memory": "1Pi"}, "node_memory='1Pi': must be a memory quantity from 128Mi to 16Ti"),
    ({"node_memory": float("inf")}, "node_memory=inf"),
    ({"node_memory": "-1Gi"}, "node_memory='-1Gi'"),
    ({"seed": 1.5}, "seed=1.5: must be an integer"),
])
def test_constructor_arguments_get_one_line_with_the_range(kwargs, words):
    with pytest.raises(UsageError) as info:
        SimBackend(**kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs", [{"workers": 1}, {"workers": 5000, "node_cpu": "100m"},
                                    {"node_cpu": 1024, "node_memory": "16384Gi"},
                                    {"node_memory": "128Mi"}, {"node_cpu": "1.5"}])
def test_constructor_edges_are_accepted(kwargs):
    SimBackend(**kwargs)


@pytest.mark.parametrize("call,words", [
    (lambda b: b.wait(timeout=float("inf")), "timeout=inf: must be a finite number"),
    (lambda b: b.wait(timeout=float("nan")), "timeout=nan"),
    (lambda b: b.start_traffic("web", float("inf")), "rps=inf: the request rate"),
    (lambda b: b.start_traffic("web", 10, timeout_s=0), "timeout_s=0: the client timeout"),
])
def test_backend_calls_that_would_hang_are_refused(call, words):
    backend = SimBackend()
    for doc in load("rolling/web.yaml"):
        backend.apply(doc)
    with pytest.raises(UsageError, match=words.replace("(", r"\(")):
        call(backend)


# The fastest profile allowed: every delay 0, the back-offs at their floor.
FASTEST = {name: low for name, (low, _) in RANGES.items()}
FASTEST["restart_backoff_max_s"] = FASTEST["restart_backoff_s"]
FASTEST["image_pull_backoff_max_s"] = FASTEST["image_pull_backoff_s"]


@pytest.mark.parametrize("profile", [FASTEST, {}], ids=["fastest-allowed", "default"])
@pytest.mark.parametrize("docs", [crash_looping(), crash_looping(image="releaselab/web:9.9")],
                         ids=["crash-loop", "image-pull-back-off"])
def test_a_failing_pod_never_makes_a_wait_spin(profile, docs):
    backend = SimBackend(profile=profile)
    for doc in docs:
        backend.apply(doc)
    before = backend.cluster.kernel.processed
    backend.wait(timeout=60)
    assert backend.now() == pytest.approx(60)
    # 4 pods, at most one restart (or pull) per second each, a few events per
    # restart: bounded by hundreds, not by how small a delay may be.
    assert backend.cluster.kernel.processed - before < 5_000
    pod = next(iter(backend.cluster.pods.values()))
    assert pod.waiting_reason in ("CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff")
