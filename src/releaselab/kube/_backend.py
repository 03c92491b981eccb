"""KubeBackend: the Backend protocol on a real cluster, through the official kubernetes client.

Objects travel as plain dicts in the exact camelCase shape the API server
sends: every call is made with ``_preload_content=False`` and the JSON body
is parsed as is.  (Deserialising into the client's models and back through
``sanitize_for_serialization`` would drop fields the models do not know,
such as a newer Gateway API status, and turn timestamps into a different
string format.)

The safety rules of :mod:`._guard` are applied before any request: the
context is chosen from the kubeconfig file alone, and an object is read and
its label checked before it is patched, scaled, undone, deleted or applied
over.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import sys
import threading
import time
import weakref
from typing import Callable, Optional

from ..errors import BackendError, ManifestError, NotFoundError, UsageError
from ..timeline import Timeline
from . import _guard, _version
from ._prober import Prober
from ._watch import POD_TEMPLATE_HASH, REVISION_ANNOTATION, Watcher

FIELD_MANAGER = "releaselab"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"   # JSON is YAML: the client sends JSON
GATEWAY_GROUP, GATEWAY_VERSION = "gateway.networking.k8s.io", "v1"
# The NodePorts cluster/kind.yaml maps to 127.0.0.1 on the host.
HOST_NODE_PORTS = (30080, 30081, 30082)

# kind → (client API, method suffix, apiVersion) for the typed APIs.
_TYPED = {
    "Deployment": ("apps", "namespaced_deployment", "apps/v1"),
    "ReplicaSet": ("apps", "namespaced_replica_set", "apps/v1"),
    "Pod": ("core", "namespaced_pod", "v1"),
    "Service": ("core", "namespaced_service", "v1"),
    "Event": ("core", "namespaced_event", "v1"),
    "EndpointSlice": ("discovery", "namespaced_endpoint_slice", "discovery.k8s.io/v1"),
    # lab 05's data servers (cluster/manifests/data/) and the claims that hold their data
    "StatefulSet": ("apps", "namespaced_stateful_set", "apps/v1"),
    "PersistentVolumeClaim": ("core", "namespaced_persistent_volume_claim", "v1"),
}
# kind → plural, for the Gateway API (CRDs, served through CustomObjectsApi).
_CUSTOM = {"Gateway": "gateways", "HTTPRoute": "httproutes"}
KINDS = tuple(_TYPED) + tuple(_CUSTOM)

# Annotations `kubectl rollout undo` keeps from the Deployment instead of
# copying them from the ReplicaSet (kubectl's annotationsToSkip).
_UNDO_SKIP_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}
PAUSED_UNDO_MESSAGE = ("you cannot rollback a paused deployment; resume it first with "
                       "'kubectl rollout resume' and try again")


def _selector_string(selector: Optional[dict]) -> Optional[str]:
    if not selector:
        return None
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _status_message(exc) -> str:
    """The API server's own message from an ApiException (its Status body), one line."""
    try:
        body = json.loads(exc.body or "{}")
        return str(body.get("message") or exc.reason or exc.status).splitlines()[0]
    except (ValueError, AttributeError):
        return str(exc.reason or exc.status)


class _Resource:
    """One kind's create/read/patch/replace/delete/list, returning parsed JSON."""

    def __init__(self, backend: "KubeBackend", kind: str) -> None:
        self.kind, self.ns = kind, backend.namespace
        if kind in _TYPED:
            api_name, self.suffix, self.api_version = _TYPED[kind]
            self.api = backend._apis[api_name]
            self.custom = None
        else:
            self.api = backend._apis["custom"]
            self.custom = (GATEWAY_GROUP, GATEWAY_VERSION, self.ns, _CUSTOM[kind])
            self.api_version = f"{GATEWAY_GROUP}/{GATEWAY_VERSION}"
        self.timeout = backend.request_timeout

    def _call(self, verb: str, *args, **kwargs):
        kwargs.update(_preload_content=False, _request_timeout=self.timeout)
        if self.custom is not None:
            fn = getattr(self.api, f"{verb}_namespaced_custom_object")
            resp = fn(*self.custom, *args, **kwargs)
        else:
            fn = getattr(self.api, f"{verb}_{self.suffix}")
            resp = fn(*args, self.ns, **kwargs) if args else fn(self.ns, **kwargs)
        data = resp.data
        return json.loads(data) if data else {}

    def read(self, name: str) -> dict:
        return self._call("get" if self.custom else "read", name)

    def list(self, selector: Optional[str]) -> list[dict]:
        items = self._call("list", label_selector=selector).get("items") or []
        for item in items:      # list items come without kind/apiVersion; put them back
            item.setdefault("apiVersion", self.api_version)
            item.setdefault("kind", self.kind)
        return items

    def create(self, body: dict) -> dict:
        return self._call("create", body=body)

    def apply(self, name: str, body: dict) -> dict:
        return self._call("patch", name, body=body, field_manager=FIELD_MANAGER, force=True,
                          _content_type=APPLY_CONTENT_TYPE)

    def dry_run_apply(self, name: str, body: dict) -> dict:
        return self._call("patch", name, body=body, field_manager=FIELD_MANAGER, force=True,
                          dry_run="All", _content_type=APPLY_CONTENT_TYPE)

    def patch(self, name: str, body) -> dict:
        # Custom resources do not take strategic merge patches (the API server
        # answers 415); a JSON merge patch is the closest they accept.
        content = None
        if self.custom is not None and isinstance(body, dict):
            content = "application/merge-patch+json"
        return self._call("patch", name, body=body, _content_type=content)

    def replace(self, name: str, body: dict) -> dict:
        return self._call("replace", name, body=body)

    def delete(self, name: str) -> dict:
        return self._call("delete", name, propagation_policy="Background")


class KubeBackend:
    """The Backend protocol on a kind cluster (or a cluster named explicitly).

    ``context``: the kubeconfig context; None means ``kind-releaselab`` (or
    ``$RELEASELAB_KUBE_CONTEXT``); see :mod:`._guard`.  ``kubeconfig``: a
    path (default ``$KUBECONFIG`` or ``~/.kube/config``).  ``watch=False``
    skips the Pod/ReplicaSet/Event watches (the Timeline then only gets
    requests).  ``progress``: where :meth:`wait` writes its progress line
    (True: the sys.stderr of the moment, so a notebook's; None or False: nowhere).
    ``check_version``: ask the API server its version first (``GET /version``):
    a cluster that does not answer is a BackendError here, not a hang later,
    and one older than the manifests need (:mod:`._version`) gets a note.
    """

    name = "kind"

    def __init__(self, context: Optional[str] = None, *, kubeconfig: Optional[str] = None,
                 namespace: str = _guard.NAMESPACE, watch: bool = True, seed: int = 0,
                 progress=True, request_timeout: float = 30.0,
                 host_node_ports=HOST_NODE_PORTS, poll_interval: float = 0.25,
                 check_version: bool = True) -> None:
        try:
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException
        except ImportError as exc:
            raise BackendError("the kind backend needs the kubernetes client: "
                               "pip install -r requirements.txt") from exc
        self._t0 = time.monotonic()
        self._wall0 = time.time()
        # The clock threads use must not hold the backend: a Lab dropped or replaced in
        # a notebook is then freed, and its finalizer stops those threads.
        self._clock = _Clock(self._t0)
        self.timeline = Timeline()
        self.pending_notes: list[str] = []
        self.namespace = namespace
        self.request_timeout = request_timeout
        self.host_node_ports = tuple(host_node_ports)
        self.poll_interval = poll_interval
        self.progress = progress
        self._rng = random.Random(seed)
        self._probers: list[Prober] = []
        self._closed = False

        path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        # The guard decides from the file alone (names and where they point), before
        # any request is made.
        servers = _guard.read_kubeconfig(path)
        self.context = _guard.choose_context(list(servers), context, servers=servers)
        try:
            self.api_client = config.new_client_from_config(
                config_file=path, context=self.context, persist_config=False)
        except (ConfigException, ValueError, TypeError, KeyError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendError(f"kubeconfig context {self.context!r} is unusable: "
                               f"{reason}") from None
        # One retry, not urllib3's three: a cluster that is down should say so quickly.
        self.api_client.configuration.retries = 1
        self._apis = {
            "core": client.CoreV1Api(self.api_client),
            "apps": client.AppsV1Api(self.api_client),
            "discovery": client.DiscoveryV1Api(self.api_client),
            "custom": client.CustomObjectsApi(self.api_client),
        }
        self._resources = {kind: _Resource(self, kind) for kind in KINDS}
        #: (major, minor, patch) of the API server, None if unknown.
        self.server_version: Optional[tuple] = None
        if check_version:
            try:
                self.server_version = self._ask_version()
            except BaseException:
                self.api_client.close()
                raise
            if _version.older_than_needed(self.server_version):
                self.pending_notes.append("note: " + _version.advice(self.server_version))
        self.watcher: Optional[Watcher] = None
        if watch:
            core, apps = self._apis["core"], self._apis["apps"]
            self.watcher = Watcher(self.timeline, {
                "pods": core.list_namespaced_pod,
                "replicasets": apps.list_namespaced_replica_set,
                "events": core.list_namespaced_event,
                # Refused requests name no pod; these say which endpoints were routable.
                "endpointslices": self._apis["discovery"].list_namespaced_endpoint_slice,
            }, namespace, self._clock, self._wall0)
            self.watcher.start()
        # close() by hand, at the end of a `with Lab()`, when the backend is garbage-
        # collected (a notebook's `lab = Lab()` run twice drops the first), or at exit
        # (weakref.finalize runs its pending callbacks then): never a thread left behind.
        self._finalizer = weakref.finalize(self, _release, self._probers, self.watcher,
                                           self.api_client)

    # -- helpers -------------------------------------------------------------
    def _res(self, kind: str) -> _Resource:
        try:
            return self._resources[kind]
        except KeyError:
            raise UsageError(f"kind {kind!r} is not one the kit handles; use one of "
                             f"{', '.join(KINDS)}") from None

    def _do(self, what: str, fn: Callable, *args):
        """Run one API call; turn the client's exceptions into one-line kit errors."""
        from kubernetes.client.exceptions import ApiException
        from pydantic import ValidationError
        from urllib3.exceptions import HTTPError

        try:
            return fn(*args)
        except ValidationError as exc:
            # The client checks bodies against its models before sending them.
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "the object"
            raise ManifestError(f"{what}: {where}: {first.get('msg', exc)}") from None
        except ApiException as exc:
            msg = _status_message(exc)
            unknown = _version.unknown_field_error(msg, getattr(self, "server_version", None))
            if unknown:
                # A field this server's schema lacks (answered 500 by server-side apply).
                raise ManifestError(f"{what}: {unknown}") from None
            if exc.status == 404:
                raise NotFoundError(f"{what}: not found in namespace {self.namespace!r} "
                                    f"({msg})") from None
            if exc.status in (400, 422):
                raise ManifestError(f"{what}: the API server rejected it: {msg}") from None
            raise BackendError(f"{what}: the API server answered {exc.status}: {msg}") from None
        except HTTPError as exc:
            host = self.api_client.configuration.host
            raise BackendError(f"{what}: cannot reach the API server at {host} "
                               f"({type(exc).__name__}); is the cluster up? "
                               f"`releaselab cluster status` tells") from None

    def _ask_version(self) -> Optional[tuple]:
        from kubernetes import client

        api = client.VersionApi(self.api_client)
        try:
            info = self._do("ask the API server its version", lambda: json.loads(api.get_code(
                _preload_content=False, _request_timeout=min(10.0, self.request_timeout)).data))
        except (NotFoundError, ManifestError, ValueError):
            return None          # it answers, but not with a version: go on without one
        return _version.parse_version((info or {}).get("gitVersion")) \
            if isinstance(info, dict) else None

    def _managed(self, kind: str, name: str, action: str) -> dict:
        obj = self.get(kind, name)
        obj.setdefault("kind", kind)
        _guard.require_managed(obj, action, self.namespace)
        return obj

    # -- the Backend protocol --------------------------------------------------
    def now(self) -> float:
        return self._clock()

    def _prepare_apply(self, obj: dict):
        """The guard's checks before an apply or its dry run: (kind, name, res, body, existing)."""
        if not isinstance(obj, dict) or not obj.get("kind") or \
                not (obj.get("metadata") or {}).get("name"):
            raise ManifestError("an object to apply needs kind and metadata.name")
        kind, name = obj["kind"], obj["metadata"]["name"]
        res = self._res(kind)
        body = _guard.prepare_for_apply(obj, self.namespace)
        body.setdefault("apiVersion", res.api_version)
        try:
            existing = self.get(kind, name)
        except NotFoundError:
            existing = None
        if existing is not None:
            existing.setdefault("kind", kind)
            _guard.require_managed(existing, "apply over", self.namespace)
        return kind, name, res, body, existing

    def apply(self, obj: dict) -> dict:
        kind, name, res, body, existing = self._prepare_apply(obj)
        try:
            return self._do(f"apply {kind} {name!r}", _keep_api_exception(res.apply), name, body)
        except _Unapplied as wrapped:
            # 415: a server without server-side apply; 404: one that does not
            # create on apply (the test emulator).  Anything else is a real answer.
            exc = wrapped.exc
            if exc.status not in (404, 415):
                return self._do(f"apply {kind} {name!r}", _raise, exc)
        if existing is None:
            return self._do(f"create {kind} {name!r}", res.create, body)
        body["metadata"]["resourceVersion"] = existing["metadata"].get("resourceVersion")
        return self._do(f"replace {kind} {name!r}", res.replace, name, body)

    def dry_run(self, obj: dict) -> dict:
        """Server-side apply with ``dryRun=All``: the API server runs every check of a real
        apply — defaults, validation, admission, immutable fields against the stored object —
        and stores nothing.  A server that has no server-side apply (HTTP 415, or 404 from
        the test emulator) cannot dry-run it; the kit's own checks, already passed, stand."""
        kind, name, res, body, _ = self._prepare_apply(obj)
        what = f"apply {kind} {name!r} (dry run)"
        try:
            return self._do(what, _keep_api_exception(res.dry_run_apply), name, body)
        except _Unapplied as wrapped:
            if wrapped.exc.status not in (404, 415):
                return self._do(what, _raise, wrapped.exc)
        return body

    def delete(self, kind: str, name: str) -> None:
        self._managed(kind, name, "delete")
        self._do(f"delete {kind} {name!r}", self._res(kind).delete, name)

    def get(self, kind: str, name: str) -> dict:
        res = self._res(kind)
        obj = self._do(f"{kind} {name!r}", res.read, name)
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", kind)
        return obj

    def list(self, kind: str, selector: Optional[dict] = None) -> list[dict]:
        res = self._res(kind)
        return self._do(f"list {kind}", res.list, _selector_string(selector))

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        if not isinstance(patch, dict):
            raise UsageError("a patch is a dict in the object's shape, e.g. "
                             "{'spec': {'replicas': 3}}")
        self._managed(kind, name, "patch")
        return self._do(f"patch {kind} {name!r}", self._res(kind).patch, name, patch)

    def scale(self, name: str, replicas: int) -> None:
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise UsageError(f"replicas must be a whole number ≥ 0, not {replicas!r}")
        self._managed("Deployment", name, "scale")
        apps = self._apis["apps"]
        self._do(f"scale Deployment {name!r}", lambda: apps.patch_namespaced_deployment_scale(
            name, self.namespace, {"spec": {"replicas": replicas}},
            _preload_content=False, _request_timeout=self.request_timeout))

    def rollout_undo(self, name: str, to_revision: Optional[int] = None) -> int:
        """What ``kubectl rollout undo deployment/<name> [--to-revision=N]`` does."""
        dep = self._managed("Deployment", name, "undo")
        if (dep.get("spec") or {}).get("paused"):
            raise UsageError(PAUSED_UNDO_MESSAGE)
        owned = [rs for rs in self.list("ReplicaSet") if _owned_by(rs, dep)]
        rs, revision = pick_revision(owned, to_revision, name)
        template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
        (template.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
        current = copy.deepcopy((dep.get("spec") or {}).get("template") or {})
        (current.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
        if template == current:
            return revision      # kubectl: "skipped rollback (current template already matches)"
        annotations = {k: v for k, v in ((dep["metadata"].get("annotations") or {}).items())
                       if k in _UNDO_SKIP_ANNOTATIONS}
        annotations.update({k: v for k, v in ((rs["metadata"].get("annotations") or {}).items())
                            if k not in _UNDO_SKIP_ANNOTATIONS})
        # kubectl sends "replace" ops; "add" does the same on an existing member
        # and also works when the Deployment has no annotations yet.
        ops = [{"op": "add", "path": "/spec/template", "value": template},
               {"op": "add", "path": "/metadata/annotations", "value": annotations}]
        self._do(f"undo Deployment {name!r}", self._res("Deployment").patch, name, ops)
        return revision

    # -- traffic -----------------------------------------------------------------
    def resolve_target(self, target: str) -> tuple[str, int]:
        """Where the host reaches ``"<service>"`` (its NodePort) or ``"gateway/<name>"``."""
        if target.startswith("gateway/"):
            gw_name = target.split("/", 1)[1]
            gw = self.get("Gateway", gw_name)
            addresses = (gw.get("status") or {}).get("addresses") or []
            if not addresses:
                raise BackendError(
                    f"Gateway {gw_name!r} has no address yet; cloud-provider-kind gives it one — "
                    f"is it running on the host? (`sudo cloud-provider-kind`)")
            listeners = (gw.get("spec") or {}).get("listeners") or [{}]
            return addresses[0]["value"], int(listeners[0].get("port", 80))
        svc = self.get("Service", target)
        ports = [p.get("nodePort") for p in (svc.get("spec") or {}).get("ports") or []]
        mapped = [p for p in ports if p in self.host_node_ports]
        if not mapped:
            raise UsageError(
                f"Service {target!r} has nodePort(s) {ports or 'none'}, but the host reaches only "
                f"{', '.join(map(str, self.host_node_ports))} (cluster/kind.yaml); make it "
                f"type NodePort with one of those nodePorts")
        return "127.0.0.1", mapped[0]

    def start_traffic(self, target: str, rps: float, *, poisson: bool = False,
                      timeout_s: float = 1.0, users: int = 0, workload: str = "shop") -> Prober:
        host, port = self.resolve_target(target)
        options = dict(target=target, rps=rps, sink=self.timeline.requests.append,
                       clock=self._clock, timeout_s=timeout_s, poisson=poisson,
                       rng=random.Random(self._rng.random()))
        if users:
            from ._users import UserProber

            prober = UserProber(host, port, users=users, workload=workload,
                                timeline=self.timeline, **options)
        else:
            prober = Prober(host, port, **options)
        self._probers.append(prober.start())
        return prober

    def stop_traffic(self, handle: object) -> None:
        if not isinstance(handle, Prober):
            raise UsageError("stop_traffic takes the handle start_traffic returned")
        handle.stop()
        if handle in self._probers:
            self._probers.remove(handle)
        if handle.skipped:
            self.pending_notes.append(
                f"note: the prober could not keep up and did not send {handle.skipped} of "
                f"{handle.sent + handle.skipped} scheduled requests (behind schedule, or "
                f"{handle.max_in_flight} already in flight); they are not counted")

    # -- time ----------------------------------------------------------------------
    def wait(self, until: Optional[Callable[[], bool]] = None, timeout: float = 60.0) -> bool:
        """Real time: poll ``until()`` every ``poll_interval`` s, with a progress line."""
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
                not math.isfinite(timeout) or timeout < 0:
            # NaN passes `timeout < 0` and then never reaches its deadline: refuse it.
            raise UsageError(f"timeout must be seconds ≥ 0, not {timeout!r}")
        start = time.monotonic()
        deadline = start + timeout
        line = _ProgressLine(self.progress, timeout)
        try:
            while True:
                if until is not None and until():
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return until is None
                time.sleep(min(self.poll_interval, left))
                line.show(time.monotonic() - start, self._status_text())
        except KeyboardInterrupt:
            # Ctrl-C in a notebook: stop the clients so nothing keeps firing.
            self._stop_all_traffic()
            raise
        finally:
            line.end()

    def _status_text(self) -> str:
        now = self.now()
        states: dict[str, int] = {}
        for p in list(self.timeline.pods):
            s = p.state_at(now)
            if s:
                states[s] = states.get(s, 0) + 1
        reqs = self.timeline.requests
        failed = sum(1 for r in list(reqs) if not r.ok)
        pods = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "no pods seen"
        return f"pods: {pods} · requests: {len(reqs)} ({failed} failed)"

    def _stop_all_traffic(self) -> None:
        for prober in list(self._probers):
            prober.stop()
        self._probers.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finalizer()


class _Clock:
    """Seconds since ``t0`` on the monotonic clock (a callable that holds no backend)."""

    __slots__ = ("t0",)

    def __init__(self, t0: float) -> None:
        self.t0 = t0

    def __call__(self) -> float:
        return time.monotonic() - self.t0


def _release(probers: list, watcher: Optional[Watcher], api_client) -> None:
    """Stop the clients, then the watches, then close the connection pool — in that order."""
    for prober in list(probers):
        prober.stop()
    probers.clear()
    if watcher is not None:
        watcher.stop()
    api_client.close()


def _raise(exc):
    raise exc


class _Unapplied(Exception):
    """Carries an ApiException past _do's translation, so apply can fall back."""

    def __init__(self, exc) -> None:
        super().__init__(str(exc))
        self.exc = exc


def _keep_api_exception(fn):
    def call(*args):
        from kubernetes.client.exceptions import ApiException

        try:
            return fn(*args)
        except ApiException as exc:
            raise _Unapplied(exc) from None
    return call


def _owned_by(rs: dict, dep: dict) -> bool:
    """Is ``rs`` controlled by ``dep``?  By UID when both have one (as kubectl does)."""
    uid = dep["metadata"].get("uid")
    for ref in rs["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"]:
            if uid is None or ref.get("uid") in (None, uid):
                return True
    return False


def pick_revision(replicasets: list[dict], to_revision: Optional[int], name: str):
    """kubectl's choice: revision ``to_revision``, or else the second newest one."""
    if to_revision is not None and (not isinstance(to_revision, int) or to_revision < 0):
        raise UsageError(f"to_revision must be a positive revision number, not {to_revision!r}")
    ranked = []
    for rs in replicasets:
        value = (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "")
        if value.isdigit():
            ranked.append((int(value), rs))
    if to_revision:        # 0 means "previous", as in kubectl
        for rev, rs in ranked:
            if rev == to_revision:
                return rs, rev
        raise NotFoundError(f"unable to find specified revision {to_revision} in history "
                            f"of deployment {name!r}")
    ranked.sort(key=lambda pair: pair[0])
    if len(ranked) < 2:
        raise NotFoundError(f"no rollout history found for deployment {name!r}")
    rev, rs = ranked[-2]
    return rs, rev


class _ProgressLine:
    """One status line: rewritten in place (``\\r``) in a terminal or notebook, else every 5 s."""

    def __init__(self, stream, timeout: float) -> None:
        # Looked up per wait, not at import: Jupyter replaces sys.stderr after start-up.
        stream = sys.stderr if stream is True else (stream or None)
        self.stream, self.timeout = stream, timeout
        self.inplace = bool(stream) and (getattr(stream, "isatty", lambda: False)()
                                         or "ipykernel" in sys.modules)
        self.shown = False
        self.last_print = 0.0
        self._lock = threading.Lock()

    def show(self, elapsed: float, text: str) -> None:
        if not self.stream or elapsed < 1.0:       # short waits stay silent
            return
        line = f"[kind] {elapsed:5.1f}/{self.timeout:.0f} s · {text}"
        if self.inplace:
            self.stream.write("\r" + line.ljust(79))
        elif elapsed - self.last_print >= 5.0:
            self.stream.write(line + "\n")
            self.last_print = elapsed
        else:
            return
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown and self.inplace:
            self.stream.write("\n")
            self.stream.flush()
