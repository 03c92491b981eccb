"""``releaselab cluster up | down | status``: the kit's kind cluster, made and unmade.

Every external command goes through :func:`run` (one small function the
tests replace), and the Docker daemon is reached only through
:func:`docker_client`.  ``up`` is idempotent and leaves nothing half-made:
if it fails after *this call's* ``kind create cluster`` succeeded, it
deletes that cluster again.  It never deletes one it did not create: a
``kind create`` that fails (say, because a cluster of that name appeared
meanwhile) is not followed by a delete — kind removes the nodes of its own
failed create unless told ``--retain``.  ``down`` deletes only the kit's own
cluster.  ``status`` asks the API server itself (``kubectl version``) for
its version and whether it answers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from ..errors import BackendError, ManifestError, ReleaseLabError, ToolMissingError
from . import _version
from ._guard import CLUSTER_NAME, KIND_CONTEXT, MANAGED_BY_KEY, MANAGED_BY_VALUE, NAMESPACE

KIND_VERSION = "v0.32.0"      # the kind release the kit is written against
HINTS = {
    "docker": "Docker is not installed: install Docker Engine (Linux) or Docker Desktop "
              "(macOS, Windows), then retry — see book/kind-setup.md",
    "kind": f"kind is not installed: `go install sigs.k8s.io/kind@{KIND_VERSION}` or put its "
            f"release binary on PATH — see book/kind-setup.md",
    "kubectl": "kubectl is not installed: install it with your package manager or its release "
               "binary — see book/kind-setup.md",
}
CLOUD_PROVIDER_HINT = (
    "cloud-provider-kind is not running, so there is no Gateway for weighted canaries "
    "(the other labs do not need it). Start it in another terminal: "
    "`go install sigs.k8s.io/cloud-provider-kind@latest && sudo cloud-provider-kind` "
    "(or its release binary / container), then run `releaselab cluster up` again")
sleep = time.sleep            # replaced in tests


def run(argv: list[str], *, input: Optional[str] = None, check: bool = True,
        timeout: float = 900.0) -> subprocess.CompletedProcess:
    """Run one command, capturing its output; kit errors instead of tracebacks."""
    try:
        done = subprocess.run(argv, input=input, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError:
        raise ToolMissingError(HINTS.get(argv[0], f"{argv[0]} is not installed")) from None
    except subprocess.TimeoutExpired:
        raise BackendError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
    if check and done.returncode != 0:
        lines = (done.stderr or done.stdout or "").strip().splitlines()
        raise BackendError(f"`{' '.join(argv)}` failed (exit {done.returncode}): "
                           f"{lines[-1] if lines else 'no output'}")
    return done


def docker_client():
    """A docker SDK client whose daemon answered a ping, or ToolMissingError."""
    try:
        import docker
    except ImportError:
        raise ToolMissingError("the docker Python SDK is missing: "
                               "pip install -r requirements.txt") from None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client
    except Exception as exc:  # the SDK raises DockerException, requests' errors, OSError...
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise ToolMissingError(
            f"the Docker daemon does not answer ({reason}); start Docker (Docker Desktop, or "
            f"`sudo systemctl start docker`) and retry") from None


def default_cluster_dir() -> Path:
    """The kit's cluster/ (kind.yaml, images.yaml, app/): the checkout's, or the installed copy."""
    from .._paths import cluster_dir

    return cluster_dir()


def check_tools(which: Callable[[str], Optional[str]] = None) -> None:
    which = which or shutil.which
    for tool in ("docker", "kind", "kubectl"):
        if which(tool) is None:
            raise ToolMissingError(HINTS[tool])


def cluster_exists() -> bool:
    out = run(["kind", "get", "clusters"]).stdout
    return CLUSTER_NAME in out.split()


def _kubectl(*args: str, **kw) -> subprocess.CompletedProcess:
    # Always the kit's context: never whatever the reader's kubeconfig has selected.
    return run(["kubectl", "--context", KIND_CONTEXT, *args], **kw)


def cloud_provider_kind_running(client=None) -> bool:
    """Is cloud-provider-kind running on the host, as a process or as a container?"""
    try:
        if run(["pgrep", "-f", "cloud-provider-kind"], check=False).returncode == 0:
            return True
    except ToolMissingError:
        pass       # no pgrep (minimal images): look for the container instead
    if client is not None:
        try:
            for c in client.containers.list():
                names = [c.name] + list(getattr(c.image, "tags", []) or [])
                if any("cloud-provider-kind" in n for n in names):
                    return True
        except Exception:
            return False
    return False


def gateway_class(wait_s: float) -> Optional[str]:
    """The GatewayClass cloud-provider-kind registered, waiting up to ``wait_s`` for it."""
    deadline = time.monotonic() + wait_s
    while True:
        done = _kubectl("get", "gatewayclass", "-o", "jsonpath={.items[*].metadata.name}",
                        check=False)
        names = done.stdout.split() if done.returncode == 0 else []
        if names:
            return "cloud-provider-kind" if "cloud-provider-kind" in names else names[0]
        if time.monotonic() >= deadline:
            return None
        sleep(2.0)


def _managed_meta(name: str, namespaced: bool = True) -> dict:
    meta = {"name": name, "labels": {MANAGED_BY_KEY: MANAGED_BY_VALUE}}
    if namespaced:
        meta["namespace"] = NAMESPACE
    return meta


def gateway_manifest(class_name: str) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": _managed_meta("web"),
            "spec": {"gatewayClassName": class_name,
                     "listeners": [{"name": "http", "protocol": "HTTP", "port": 80,
                                    "allowedRoutes": {"namespaces": {"from": "Same"}}}]}}


def cluster_up(cluster_dir: Optional[Path] = None, *, say: Callable[[str], None] = print,
               gateway_wait: float = 60.0, which=None) -> None:
    """Create (or reuse) the kit's cluster and prepare everything the labs need."""
    from ._images import build_images, load_images

    from .._paths import IMAGES_ENV

    cluster_dir = Path(cluster_dir) if cluster_dir else default_cluster_dir()
    kind_config = cluster_dir / "kind.yaml"
    images_file = Path(os.environ[IMAGES_ENV]).expanduser() if os.environ.get(IMAGES_ENV) \
        else cluster_dir / "images.yaml"       # the same file the simulator reads
    steps = 8
    say(f"[1/{steps}] checking docker, kind and kubectl")
    check_tools(which)
    say(f"[2/{steps}] asking the Docker daemon")
    client = docker_client()
    plan = load_images(images_file)        # bad input fails before anything is made
    if not kind_config.is_file():
        raise ManifestError(f"no kind config at {kind_config}")

    created = False
    try:
        if cluster_exists():
            say(f"[3/{steps}] kind cluster {CLUSTER_NAME!r} already exists: reusing it")
        else:
            say(f"[3/{steps}] creating kind cluster {CLUSTER_NAME!r} from {kind_config.name} "
                f"(a few minutes the first time)")
            run(["kind", "create", "cluster", "--name", CLUSTER_NAME,
                 "--config", str(kind_config), "--wait", "120s"])
            # Only now is it ours to clean up: a create that failed made nothing of ours
            # (kind deletes the nodes of its own failed create), and one that failed
            # because the name was taken must not delete the cluster holding it.
            created = True
        say(f"[4/{steps}] building {len(plan.images)} images with docker")
        tags = build_images(client, plan, say)
        say(f"[5/{steps}] loading the images into the cluster's nodes")
        run(["kind", "load", "docker-image", "--name", CLUSTER_NAME, *tags])
        say(f"[6/{steps}] waiting for the nodes to be Ready")
        _kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=180s")
        say(f"[7/{steps}] namespace {NAMESPACE!r}")
        namespace = {"apiVersion": "v1", "kind": "Namespace",
                     "metadata": _managed_meta(NAMESPACE, namespaced=False)}
        _kubectl("apply", "-f", "-", input=json.dumps(namespace))
        say(f"[8/{steps}] Gateway API (cloud-provider-kind)")
        if not cloud_provider_kind_running(client):
            say("      " + CLOUD_PROVIDER_HINT)
        else:
            cls = gateway_class(gateway_wait)
            if cls is None:
                say(f"      cloud-provider-kind runs, but no GatewayClass appeared within "
                    f"{gateway_wait:.0f} s; check its log, then run `releaselab cluster up` again")
            else:
                _kubectl("apply", "-f", "-", input=json.dumps(gateway_manifest(cls)))
                say(f"      Gateway 'web' of class {cls!r} created")
    except BaseException as exc:     # KeyboardInterrupt too: no half-made cluster
        if created:
            say(f"      failed; deleting the cluster {CLUSTER_NAME!r} this run created")
            run(["kind", "delete", "cluster", "--name", CLUSTER_NAME], check=False)
        if isinstance(exc, ReleaseLabError) or not isinstance(exc, Exception):
            raise
        raise BackendError(f"cluster up failed: {type(exc).__name__}: {exc}") from None
    say(f"ready: context {KIND_CONTEXT!r}, namespace {NAMESPACE!r}. "
        f"Run a lab with RELEASELAB_BACKEND=kind")


def cluster_down(*, say: Callable[[str], None] = print, which=None) -> None:
    """Delete the kit's kind cluster (and nothing else)."""
    which = which or shutil.which
    if which("kind") is None:
        raise ToolMissingError(HINTS["kind"])
    if not cluster_exists():
        say(f"no kind cluster {CLUSTER_NAME!r}: nothing to delete")
        return
    say(f"deleting kind cluster {CLUSTER_NAME!r}")
    run(["kind", "delete", "cluster", "--name", CLUSTER_NAME])
    say("deleted")


def cluster_status(*, say: Callable[[str], None] = print, which=None) -> int:
    """Report what is there; 0 when the cluster is up and its nodes Ready, else 1."""
    which = which or shutil.which
    missing = [t for t in ("docker", "kind", "kubectl") if which(t) is None]
    for tool in ("docker", "kind", "kubectl"):
        say(f"{tool:10} {'missing — ' + HINTS[tool] if tool in missing else 'found'}")
    try:
        docker_client()
        say("daemon     Docker answers")
    except ToolMissingError as exc:
        say(f"daemon     {exc}")
        return 1
    if "kind" in missing or "kubectl" in missing:
        return 1
    if not cluster_exists():
        say(f"cluster    no kind cluster {CLUSTER_NAME!r}: run `releaselab cluster up`")
        return 1
    nodes = _kubectl("get", "nodes", "-o",
                     "jsonpath={range .items[*]}{.metadata.name}={.status.conditions"
                     "[?(@.type==\"Ready\")].status} {end}", check=False)
    pairs = [p.split("=", 1) for p in nodes.stdout.split()]
    ready = [n for n, s in pairs if s == "True"]
    say(f"cluster    {CLUSTER_NAME!r}: {len(ready)}/{len(pairs)} nodes Ready")
    reachable = api_server_status(say)
    ns = _kubectl("get", "namespace", NAMESPACE, check=False)
    ns_state = "present" if ns.returncode == 0 else "missing: run `releaselab cluster up`"
    say(f"namespace  {NAMESPACE!r} {ns_state}")
    gw = _kubectl("get", "gateway", "web", "-n", NAMESPACE, "-o",
                  "jsonpath={.status.addresses[0].value}", check=False)
    gw_state = (f"web at {gw.stdout}" if gw.returncode == 0 and gw.stdout
                else "none (weighted canaries need cloud-provider-kind)")
    say(f"gateway    {gw_state}")
    return 0 if reachable and pairs and len(ready) == len(pairs) else 1


def api_server_status(say: Callable[[str], None]) -> bool:
    """One line: where the kit's API server is, whether it answers, its Kubernetes version."""
    view = _kubectl("config", "view", "-o",
                    f"jsonpath={{.clusters[?(@.name==\"{KIND_CONTEXT}\")].cluster.server}}",
                    check=False)
    where = view.stdout.strip() or "(no server in the kubeconfig)"
    done = _kubectl("version", "-o", "json", "--request-timeout=5s", check=False)
    try:
        server = (json.loads(done.stdout or "{}").get("serverVersion") or {})
    except ValueError:
        server = {}
    version = _version.parse_version(server.get("gitVersion"))
    if not server:
        lines = (done.stderr or "").strip().splitlines()
        say(f"api server {where} does not answer: {lines[-1] if lines else 'no reply'}")
        return False
    line = f"api server {where} answers: Kubernetes {server.get('gitVersion')}"
    if _version.older_than_needed(version):
        line += " — " + _version.advice(version)
    say(line)
    return True
