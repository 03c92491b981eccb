"""Bad Lab calls: each gets one line naming the accepted range, on both backends alike.

Issue 11 item 4 ("every Lab argument bounded") and item 6 ("kubectl as it
is").  Each row is (call, error class, the message's first words, where the
rule comes from).  The checks live in the facade (``releaselab._args``), so
the same rows run against the simulator and against the kind backend talking
to a local Kubernetes API emulator (kmock) — where the test also asserts that
no bad call sent a single write request.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from releaselab import Lab
from releaselab.errors import NotFoundError, ReleaseLabError, UsageError

NAN, INF = math.nan, math.inf
K = "kubectl"                 # the rule is kubectl's own (source named in lab.py)
KIT = "kit range"             # a range the kit sets (releaselab/_args.py says why)

# (id, call, error, first words, rule)
BAD_CALLS = [
    ("wait-nan", lambda lab: lab.wait(NAN), UsageError,
     "wait(seconds=nan): must be a number of seconds from 0 to 3600", KIT),
    ("wait-inf", lambda lab: lab.wait(INF), UsageError, "wait(seconds=inf): must be", KIT),
    ("wait-negative", lambda lab: lab.wait(-1), UsageError, "wait(seconds=-1): must be", KIT),
    ("wait-absurd", lambda lab: lab.wait(1e9), UsageError,
     "wait(seconds=1000000000.0): must be", KIT),
    ("wait-string", lambda lab: lab.wait("5"), UsageError, "wait(seconds='5'): must be", KIT),
    ("wait-bool", lambda lab: lab.wait(True), UsageError, "wait(seconds=True): must be", KIT),
    ("wait-none", lambda lab: lab.wait(None), UsageError, "wait(seconds=None): must be", KIT),
    ("rps-nan", lambda lab: lab.traffic(rps=NAN), UsageError,
     "traffic(rps=nan): must be a number of requests per second more than 0 and at most 1000",
     KIT),
    ("rps-inf", lambda lab: lab.traffic(rps=INF), UsageError, "traffic(rps=inf): must be", KIT),
    ("rps-zero", lambda lab: lab.traffic(rps=0), UsageError, "traffic(rps=0): must be", KIT),
    ("rps-negative", lambda lab: lab.traffic(rps=-5), UsageError, "traffic(rps=-5): must be",
     KIT),
    ("rps-absurd", lambda lab: lab.traffic(rps=1e6), UsageError,
     "traffic(rps=1000000.0): must be", KIT),
    ("rps-string", lambda lab: lab.traffic(rps="50"), UsageError,
     "traffic(rps='50'): must be", KIT),
    ("client-timeout-zero", lambda lab: lab.traffic(timeout_s=0), UsageError,
     "traffic(timeout_s=0): must be a number of seconds more than 0 to 60", KIT),
    ("client-timeout-nan", lambda lab: lab.traffic(timeout_s=NAN), UsageError,
     "traffic(timeout_s=nan): must be", KIT),
    ("client-timeout-absurd", lambda lab: lab.traffic(timeout_s=3600), UsageError,
     "traffic(timeout_s=3600): must be", KIT),
    ("target-empty", lambda lab: lab.traffic(target=""), UsageError,
     "traffic(target=''): must be a non-empty string", KIT),
    ("target-none", lambda lab: lab.traffic(target=None), UsageError,
     "traffic(target=None): must be", KIT),
    ("poisson-string", lambda lab: lab.traffic(poisson="yes"), UsageError,
     "traffic(poisson='yes'): must be True or False", KIT),
    ("replicas-negative", lambda lab: lab.scale("web", -1), UsageError,
     "scale(replicas=-1): must be a whole number from 0 to 100000",
     "ValidateNonnegativeField (apps validation) + kit range"),
    ("replicas-fraction", lambda lab: lab.scale("web", 2.5), UsageError,
     "scale(replicas=2.5): must be a whole number", "replicas is int32"),
    ("replicas-nan", lambda lab: lab.scale("web", NAN), UsageError,
     "scale(replicas=nan): must be a whole number", KIT),
    ("replicas-absurd", lambda lab: lab.scale("web", 10**9), UsageError,
     "scale(replicas=1000000000): must be a whole number", KIT),
    ("replicas-bool", lambda lab: lab.scale("web", True), UsageError,
     "scale(replicas=True): must be a whole number", "a JSON boolean is not an integer"),
    ("replicas-string", lambda lab: lab.scale("web", "3"), UsageError,
     "scale(replicas='3'): must be a whole number", K),
    ("scale-no-name", lambda lab: lab.scale(None, 3), UsageError,
     "scale(None): pass the Deployment's name as a string", KIT),
    ("revision-negative", lambda lab: lab.rollout_undo("web", to_revision=-1), UsageError,
     "rollout_undo(to_revision=-1): must be a whole number from 0",
     "kubectl: revision must be non-negative"),
    ("revision-fraction", lambda lab: lab.rollout_undo("web", to_revision=1.5), UsageError,
     "rollout_undo(to_revision=1.5): must be a whole number", "--to-revision is int64"),
    ("revision-string", lambda lab: lab.rollout_undo("web", to_revision="2"), UsageError,
     "rollout_undo(to_revision='2'): must be a whole number", "--to-revision is int64"),
    ("available-timeout-nan", lambda lab: lab.wait_available("web", timeout=NAN), UsageError,
     "wait_available(timeout=nan): must be a number of seconds", KIT),
    ("available-timeout-negative", lambda lab: lab.wait_available("web", timeout=-1),
     UsageError, "wait_available(timeout=-1): must be", KIT),
    ("rollout-timeout-inf", lambda lab: lab.wait_rollout("web", timeout=INF), UsageError,
     "wait_rollout(timeout=inf): must be", KIT),
    ("settled-timeout-absurd", lambda lab: lab.wait_settled("web", timeout=1e7), UsageError,
     "wait_settled(timeout=10000000.0): must be", KIT),
    ("reset-timeout-nan", lambda lab: lab.reset(timeout=NAN), UsageError,
     "reset(timeout=nan): must be", KIT),
    ("until-timeout-nan", lambda lab: lab.wait_until(lambda: True, NAN, "x"), UsageError,
     "wait_until(timeout=nan): must be", KIT),
    ("until-not-callable", lambda lab: lab.wait_until("web", 10, "x"), UsageError,
     "wait_until(condition='web'): pass a function", KIT),
    ("image-none", lambda lab: lab.set_image("web", None), UsageError,
     "set_image(image=None): must be a non-empty string", K),
    ("image-missing-container", lambda lab: lab.set_image("web", "releaselab/web:3.1",
                                                          container="nope"), NotFoundError,
     'unable to find container named "nope"', "kubectl cmd/set/set_image.go"),
    ("env-none", lambda lab: lab.set_env("web", LATENCY_MS=None), UsageError,
     "set_env(LATENCY_MS=None): an environment value is a string or a number",
     "EnvVar.value is a string"),
    ("env-nan", lambda lab: lab.set_env("web", LATENCY_MS=NAN), UsageError,
     "set_env(LATENCY_MS=nan): an environment value", KIT),
    ("env-missing-container", lambda lab: lab.set_env("web", container="nope", X="1"),
     NotFoundError, 'deployments/web does not have any containers matching "nope"',
     "kubectl cmd/set/set_env.go (a warning there; an error here)"),
    ("env-nothing", lambda lab: lab.set_env("web"), UsageError,
     "set_env needs at least one NAME=value", K),
    ("resume-unpaused", lambda lab: lab.rollout_resume("web"), UsageError,
     'deployments.apps "web" is not paused', "kubectl polymorphichelpers/objectresumer.go"),
    ("selector-string", lambda lab: lab.pods(selector="app=web"), UsageError,
     "pods(selector='app=web'): a selector is a dict", KIT),
    ("patch-none", lambda lab: lab.patch("Deployment", "web", None), UsageError,
     "patch(patch=None): a patch is a non-empty dict", K),
    ("get-kind-number", lambda lab: lab.get(3, "web"), UsageError,
     "get(kind=3): must be a non-empty string", KIT),
    ("delete-empty-name", lambda lab: lab.delete("Deployment", ""), UsageError,
     "delete(''): pass the Deployment's name as a string", KIT),
    ("mark-none", lambda lab: lab.mark(None), UsageError,
     "mark(label=None): must be a non-empty string", KIT),
]

BAD_CONSTRUCTIONS = [
    ("seed-string", dict(seed="x"), "Lab(seed='x'): the seed must be a whole number"),
    ("workers-zero", dict(workers=0), "Lab(workers=0): must be a whole number from 1 to 5000"),
    ("cpu-zero", dict(node_cpu="0"), "Lab(node_cpu='0'): must be a Kubernetes quantity more "
                                      "than 0"),
    ("memory-words", dict(node_memory="lots"), "Lab(node_memory='lots'): must be a Kubernetes"),
    ("echo-string", dict(echo="no"), "Lab(echo='no'): must be True or False"),
    ("backend-unknown", dict(backend="minikube"), "backend='minikube': choose 'sim'"),
]

WEB = "rolling/web.yaml"


def _assert_one_line(info, error, first_words):
    assert info.type is error, f"{info.type.__name__}: {info.value}"
    message = str(info.value)
    assert message.startswith(first_words), message
    assert "\n" not in message


@pytest.fixture(scope="module")
def sim_lab():
    lab = Lab(echo=False)
    lab.apply(WEB)
    lab.wait_available("web")
    return lab


def test_the_table_is_big_enough():
    assert len(BAD_CALLS) + len(BAD_CONSTRUCTIONS) >= 30
    assert len({row[0] for row in BAD_CALLS}) == len(BAD_CALLS)


@pytest.mark.parametrize("case, call, error, first_words, rule", BAD_CALLS,
                         ids=[row[0] for row in BAD_CALLS])
def test_bad_call_on_the_simulator(sim_lab, case, call, error, first_words, rule):
    before = sim_lab.now()
    with pytest.raises(ReleaseLabError) as info:
        call(sim_lab)
    _assert_one_line(info, error, first_words)
    assert sim_lab.now() == before          # refused before any time passed


@pytest.mark.parametrize("case, kwargs, first_words", BAD_CONSTRUCTIONS,
                         ids=[row[0] for row in BAD_CONSTRUCTIONS])
def test_bad_lab_construction(case, kwargs, first_words):
    with pytest.raises(UsageError) as info:
        Lab(**kwargs)
    _assert_one_line(info, UsageError, first_words)


def test_pause_of_a_paused_deployment_is_kubectls_error(capsys):
    lab = Lab()
    lab.apply(WEB)
    lab.rollout_pause("web")
    with pytest.raises(UsageError) as info:
        lab.rollout_pause("web")
    _assert_one_line(info, UsageError, 'deployments.apps "web" is already paused')
    lab.rollout_resume("web")
    assert lab.get("Deployment", "web")["spec"]["paused"] is False


def test_a_valid_edge_of_each_range_is_accepted():
    lab = Lab(echo=False)
    lab.apply(WEB)
    lab.wait_available("web", timeout=3600)
    lab.wait(0)
    lab.wait(3600)
    with lab.traffic(rps=1000, timeout_s=60):
        lab.wait(0.5)
    lab.scale("web", 0)
    lab.scale("web", 4.0)        # a whole float is a whole number
    assert lab.get("Deployment", "web")["spec"]["replicas"] == 4


# -- the same rows on the kind backend, against the kmock API emulator -------------------

pytest.importorskip("kmock")
pytest.importorskip("kubernetes")


@pytest.fixture(scope="module")
def kind_lab(tmp_path_factory):
    import yaml
    from kmockutil import Emulator, write_kubeconfig

    from releaselab.kube import make_backend

    emu = Emulator()
    cfg = write_kubeconfig(tmp_path_factory.mktemp("kube") / "kubeconfig", emu.url)
    backend = make_backend(kubeconfig=str(cfg), watch=False, progress=None, request_timeout=10)
    lab = Lab(backend, echo=False)
    path = Path(__file__).resolve().parents[2] / "cluster" / "manifests" / WEB
    for doc in yaml.safe_load_all(path.read_text()):
        backend.apply(doc)
    yield lab, emu
    backend.close()
    emu.stop()


# Rows whose answer needs a status only controllers write (the emulator runs none) are
# the same calls; the argument is refused before anything is read.
@pytest.mark.parametrize("case, call, error, first_words, rule", BAD_CALLS,
                         ids=[row[0] for row in BAD_CALLS])
def test_bad_call_on_the_kind_backend_gets_the_same_line(kind_lab, case, call, error,
                                                         first_words, rule):
    lab, emu = kind_lab
    writes = sum(1 for r in emu.requests if r.method in ("POST", "PATCH", "PUT", "DELETE"))
    with pytest.raises(ReleaseLabError) as info:
        call(lab)
    _assert_one_line(info, error, first_words)
    assert sum(1 for r in emu.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")) \
        == writes, "a refused call changed the cluster"


@pytest.mark.parametrize("call, words", [
    (lambda lab: lab.traffic(service="web"), "Lab.traffic(service=...): got an unexpected"),
    (lambda lab: lab.wait(), "Lab.wait(): missing a required argument: 'seconds'"),
    (lambda lab: lab.set_image("web", "releaselab/web:3.1", "app", "x"),
     "Lab.set_image(): too many positional arguments"),
    (lambda lab: lab.pods(wiide=True), "Lab.pods(wiide=...)"),
    (lambda lab: lab.traffic(rps=10).summary(deployment="web", extra=1),
     "TrafficRun.summary(deployment=..., extra=...)"),
])
def test_a_wrong_argument_name_or_count_is_one_usage_line_naming_the_arguments(call, words):
    with Lab(echo=False) as lab:
        with pytest.raises(UsageError) as caught:
            call(lab)
    message = str(caught.value)
    assert message.startswith(words) and "its arguments are" in message and "\n" not in message


def test_a_misspelt_lab_argument_is_one_usage_line():
    with pytest.raises(UsageError, match=r"^Lab\(seeed=\.\.\.\): got an unexpected keyword"):
        Lab(seeed=1)
