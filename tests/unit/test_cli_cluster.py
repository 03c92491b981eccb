"""`releaselab cluster up | down | status` and `releaselab labs`, with the outside world faked.

External commands go through ``releaselab.kube._cluster.run``; here a fake
records them and answers like kind/kubectl would.  Tools are "installed"
by putting empty executables on PATH; the Docker daemon is the docker SDK
pointed at a socket that does not exist, or a fake client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from releaselab import cli
from releaselab.errors import BackendError
from releaselab.kube import _cluster

REPO = Path(__file__).resolve().parents[2]
DELETE = ["kind", "delete", "cluster", "--name", "releaselab"]


def put_on_path(monkeypatch, tmp_path, tools):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in tools:
        exe = bindir / tool
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))


class FakeRunner:
    """Answers commands by prefix; records every call. ``fail``: prefixes that exit 1."""

    def __init__(self, answers=None, fail=()):
        self.calls: list[list[str]] = []
        self.inputs: list = []
        self.answers = answers or {}
        self.fail = [list(f) for f in fail]

    def __call__(self, argv, *, input=None, check=True, timeout=900.0):
        self.calls.append(list(argv))
        self.inputs.append(input)
        rc, out = 0, ""
        for prefix, answer in self.answers.items():
            if argv[:len(prefix)] == list(prefix):
                rc, out = answer
        if any(argv[:len(f)] == f for f in self.fail):
            rc = 1
        if check and rc != 0:
            raise BackendError(f"`{' '.join(argv)}` failed (exit {rc}): boom")
        return subprocess.CompletedProcess(argv, rc, out, "boom" if rc else "")

    def issued(self, prefix) -> bool:
        return any(c[:len(prefix)] == list(prefix) for c in self.calls)


class FakeDocker:
    def __init__(self, containers=()):
        self.builds = []
        outer = self

        class Images:
            def build(self, **kw):
                outer.builds.append(kw)
        self.images = Images()
        self.containers = types.SimpleNamespace(list=lambda: list(containers))


@pytest.fixture
def kit(tmp_path, monkeypatch):
    """A cluster/ directory, all tools on PATH, a fake runner and a fake Docker daemon."""
    cdir = tmp_path / "cluster"
    (cdir / "app").mkdir(parents=True)
    shutil.copy(REPO / "cluster" / "images.yaml", cdir / "images.yaml")
    (cdir / "kind.yaml").write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n")
    (cdir / "app" / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setattr(_cluster, "default_cluster_dir", lambda: cdir)
    put_on_path(monkeypatch, tmp_path, ["docker", "kind", "kubectl"])
    docker = FakeDocker()
    monkeypatch.setattr(_cluster, "docker_client", lambda: docker)
    monkeypatch.setattr(_cluster, "sleep", lambda s: None)

    def use(runner):
        monkeypatch.setattr(_cluster, "run", runner)
        return runner
    return types.SimpleNamespace(dir=cdir, docker=docker, use=use)


@pytest.mark.parametrize("present,missing", [([], "docker"), (["docker"], "kind"),
                                             (["docker", "kind"], "kubectl")])
def test_up_without_a_tool_prints_its_hint_and_exits_2(tmp_path, monkeypatch, capsys,
                                                       present, missing):
    put_on_path(monkeypatch, tmp_path, present)
    runner = FakeRunner()
    monkeypatch.setattr(_cluster, "run", runner)
    assert cli.main(["cluster", "up"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
    assert f"{missing} is not installed" in lines[0].lower() and "book/kind-setup.md" in lines[0]
    assert runner.calls == []


def test_up_with_docker_daemon_down_says_so(tmp_path, monkeypatch, capsys):
    put_on_path(monkeypatch, tmp_path, ["docker", "kind", "kubectl"])
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    runner = FakeRunner()
    monkeypatch.setattr(_cluster, "run", runner)
    assert cli.main(["cluster", "up"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the Docker daemon does not answer") and "\n" not in err
    assert runner.calls == []


def test_up_is_idempotent_when_the_cluster_exists(kit, capsys):
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "other\nreleaselab\n"),
                                 ("pgrep",): (1, "")}))
    assert cli.main(["cluster", "up"]) == 0
    assert not runner.issued(["kind", "create"])
    assert not runner.issued(DELETE)
    # every image of images.yaml is built with its args, then loaded in one kind call
    import yaml
    spec = yaml.safe_load((kit.dir / "images.yaml").read_text())["images"]
    assert [(b["tag"], b["buildargs"]) for b in kit.docker.builds] == [
        (i["tag"], {k: str(v) for k, v in i["args"].items()}) for i in spec]
    load = next(c for c in runner.calls if c[:3] == ["kind", "load", "docker-image"])
    assert load[3:5] == ["--name", "releaselab"] and load[5:] == [i["tag"] for i in spec]
    kubectl = [c for c in runner.calls if c[0] == "kubectl"]
    assert kubectl and all(c[1:3] == ["--context", "kind-releaselab"] for c in kubectl)
    ns = json.loads(next(i for c, i in zip(runner.calls, runner.inputs)
                         if c[0] == "kubectl" and "apply" in c))
    assert ns["kind"] == "Namespace" and ns["metadata"]["name"] == "releaselab"
    assert ns["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "releaselab"}
    out = capsys.readouterr().out
    assert "already exists" in out and "cloud-provider-kind is not running" in out


def test_up_creates_the_cluster_from_kind_yaml(kit):
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "other\n"),
                                 ("pgrep",): (1, "")}))
    assert cli.main(["cluster", "up"]) == 0
    create = next(c for c in runner.calls if c[:3] == ["kind", "create", "cluster"])
    assert create[3:7] == ["--name", "releaselab", "--config", str(kit.dir / "kind.yaml")]
    order = [c[:2] for c in runner.calls if c[0] == "kind"]
    assert order == [["kind", "get"], ["kind", "create"], ["kind", "load"]]


def test_failure_after_creating_deletes_the_cluster(kit, capsys):
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "")},
                                fail=[("kind", "load")]))
    assert cli.main(["cluster", "up"]) == 2
    assert runner.issued(["kind", "create", "cluster"])
    assert runner.calls[-1] == DELETE
    assert "kind load docker-image" in capsys.readouterr().err


def test_failure_of_a_build_after_creating_deletes_the_cluster(kit, monkeypatch):
    def broken(**kw):
        raise RuntimeError("disk full")
    monkeypatch.setattr(kit.docker.images, "build", broken)
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "")}))
    with pytest.raises(BackendError, match="disk full"):
        _cluster.cluster_up(say=lambda s: None)
    assert runner.calls[-1] == DELETE


def test_failure_on_an_existing_cluster_leaves_it_alone(kit):
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "releaselab\n")},
                                fail=[("kubectl", "--context", "kind-releaselab", "wait")]))
    assert cli.main(["cluster", "up"]) == 2
    assert not runner.issued(DELETE)


def test_gateway_is_created_when_cloud_provider_kind_runs(kit):
    runner = kit.use(FakeRunner({
        ("kind", "get", "clusters"): (0, "releaselab\n"),
        ("pgrep",): (0, "4242\n"),
        ("kubectl", "--context", "kind-releaselab", "get", "gatewayclass"):
            (0, "cloud-provider-kind"),
    }))
    assert cli.main(["cluster", "up"]) == 0
    applied = [json.loads(i) for c, i in zip(runner.calls, runner.inputs) if i]
    gw = next(o for o in applied if o["kind"] == "Gateway")
    assert gw["metadata"] == {"name": "web", "namespace": "releaselab",
                              "labels": {"app.kubernetes.io/managed-by": "releaselab"}}
    assert gw["spec"]["gatewayClassName"] == "cloud-provider-kind"
    assert gw["spec"]["listeners"][0]["port"] == 80


def test_no_gateway_class_in_time_is_reported_not_fatal(kit, capsys):
    kit.use(FakeRunner({("kind", "get", "clusters"): (0, "releaselab\n"),
                        ("pgrep",): (0, "1\n")}))
    assert _cluster.cluster_up(say=print, gateway_wait=0) is None
    assert "no GatewayClass appeared" in capsys.readouterr().out


def test_down_deletes_only_the_kits_cluster(kit, capsys):
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "prod\nreleaselab\n")}))
    assert cli.main(["cluster", "down"]) == 0
    assert [c for c in runner.calls if c[:2] == ["kind", "delete"]] == [DELETE]
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "prod\n")}))
    assert cli.main(["cluster", "down"]) == 0
    assert not runner.issued(["kind", "delete"])
    assert "nothing to delete" in capsys.readouterr().out


def test_status_reports_a_missing_cluster(kit, capsys):
    kit.use(FakeRunner({("kind", "get", "clusters"): (0, "")}))
    assert cli.main(["cluster", "status"]) == 1
    assert "no kind cluster 'releaselab'" in capsys.readouterr().out


KCTL = ("kubectl", "--context", "kind-releaselab")
READY_NODES = {
    ("kind", "get", "clusters"): (0, "releaselab\n"),
    KCTL + ("get", "nodes"):
        (0, "releaselab-control-plane=True releaselab-worker=True releaselab-worker2=True "),
    KCTL + ("config", "view"): (0, "https://127.0.0.1:40123"),
}


def _version_json(server_version):
    out = {"clientVersion": {"gitVersion": "v1.36.0"}}
    if server_version:
        out["serverVersion"] = {"gitVersion": server_version}
    return json.dumps(out)


def test_status_of_a_ready_cluster(kit, capsys):
    runner = kit.use(FakeRunner({**READY_NODES,
                                 KCTL + ("version",): (0, _version_json("v1.36.1"))}))
    assert cli.main(["cluster", "status"]) == 0
    out = capsys.readouterr().out
    assert "3/3 nodes Ready" in out
    assert "api server https://127.0.0.1:40123 answers: Kubernetes v1.36.1" in out
    version_call = next(c for c in runner.calls if c[3:4] == ["version"])
    assert "--request-timeout=5s" in version_call          # an unreachable server: no hang


def test_status_of_an_unreachable_api_server(kit, capsys):
    kit.use(FakeRunner({**READY_NODES, KCTL + ("version",): (1, _version_json(None))}))
    assert cli.main(["cluster", "status"]) == 1
    assert "api server https://127.0.0.1:40123 does not answer: boom" in \
        capsys.readouterr().out


def test_status_of_an_older_cluster_says_what_to_do(kit, capsys):
    kit.use(FakeRunner({**READY_NODES, KCTL + ("version",): (0, _version_json("v1.28.7"))}))
    assert cli.main(["cluster", "status"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("api server"))
    assert "Kubernetes v1.28.7 — the cluster runs Kubernetes v1.28.7, older than the 1.30" in line
    assert "releaselab cluster down && releaselab cluster up" in line


def test_a_failed_create_never_deletes_a_cluster_it_did_not_make(kit, capsys):
    """`kind get clusters` did not list it, yet `kind create` finds the name taken (another
    shell made it meanwhile, or kind's list failed): the cluster is not ours to delete."""
    runner = kit.use(FakeRunner({("kind", "get", "clusters"): (0, "")},
                                fail=[("kind", "create")]))
    assert cli.main(["cluster", "up"]) == 2
    assert runner.issued(["kind", "create", "cluster"])
    assert not runner.issued(["kind", "delete"])
    assert "kind create cluster" in capsys.readouterr().err


def test_real_runner_reports_a_missing_tool_and_a_failing_command(monkeypatch, tmp_path):
    from releaselab.errors import ToolMissingError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="kind is not installed"):
        _cluster.run(["kind", "get", "clusters"])
    with pytest.raises(BackendError, match=r"exit 3\): nope"):
        _cluster.run([sys.executable, "-c", "import sys; print('nope', file=sys.stderr); "
                                            "sys.exit(3)"])


def test_labs_calls_labgen_main_with_the_rest_of_the_arguments(monkeypatch):
    seen = []
    fake = types.ModuleType("releaselab.labgen")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "releaselab.labgen", fake)
    import releaselab
    monkeypatch.setattr(releaselab, "labgen", fake, raising=False)
    assert cli.main(["labs", "--check", "solutions/01-rolling.ipynb"]) == 0
    assert seen == [["--check", "solutions/01-rolling.ipynb"]]


def test_labs_error_is_one_line(monkeypatch, capsys):
    from releaselab.errors import LabSourceError

    def fail(argv):
        raise LabSourceError("solutions/02.ipynb cell 4 uses a dropped cell's variable")
    fake = types.ModuleType("releaselab.labgen")
    fake.main = fail
    monkeypatch.setitem(sys.modules, "releaselab.labgen", fake)
    import releaselab
    monkeypatch.setattr(releaselab, "labgen", fake, raising=False)
    assert cli.main(["labs"]) == 2
    assert capsys.readouterr().err == \
        "error: solutions/02.ipynb cell 4 uses a dropped cell's variable\n"


def test_the_kit_imports_without_kubernetes_or_docker():
    # Block both packages, as on a machine that never installed the kind extras.
    code = (
        "import sys\n"
        "sys.modules['kubernetes'] = None\n"
        "sys.modules['docker'] = None\n"
        "import releaselab, releaselab.kube, releaselab.cli\n"
        "from releaselab.errors import BackendError\n"
        "try:\n"
        "    releaselab.kube.make_backend()\n"
        "except BackendError as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "refused: the kind backend needs the kubernetes client" in done.stdout
