"""SimBackend: the embedded cluster behind the :class:`~releaselab.backend.Backend` contract."""

from __future__ import annotations

import copy
import math
from typing import Callable, Optional

from .. import rollout as r
from .._fielderrors import go_value
from .._args import MAX_WORKERS
from ..errors import ManifestError, NotFoundError, UsageError
from ..kube._guard import MANAGED_BY_KEY, MANAGED_BY_VALUE
from ..manifests import Notes, load_images, parse_cpu, parse_memory, parse_template, validate
from ..timeline import Timeline
from . import execprobe
from .app import READY_FILE
from .cluster import Cluster
from .objects import Deployment, GatewayObject, Service
from .patch import strategic_merge
from .profile import KIND_LIKE, TimingProfile
from ..workload import check_users
from .traffic import TrafficSource
from .users import UserTraffic

#: Constructor ranges: the Lab facade's MAX_WORKERS (5,000 nodes, the largest
#: cluster Kubernetes supports); a node's cpu and memory span a 1-core / 1 GiB
#: kind node to a large server.
NODE_CPU_M = (100, 1_024_000, "100m to 1024")          # millicores
NODE_MEMORY_MI = (128, 16 * 1024 ** 2, "128Mi to 16Ti")  # MiB


def _node_quantity(name: str, value, parse, bounds: tuple, what: str, example: str) -> int:
    """A node's capacity given as a Kubernetes quantity, checked against ``bounds``."""
    low, high, said = bounds
    problem = f"{name}={value!r}: must be a {what} quantity from {said}, e.g. {example}"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UsageError(problem)
    try:
        amount = parse(value)
    except (ManifestError, ValueError, OverflowError):
        raise UsageError(problem) from None
    if not low <= amount <= high:
        raise UsageError(problem)
    return amount


def _finite(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


KINDS = ("Deployment", "ReplicaSet", "Pod", "Service", "EndpointSlice", "Event", "Gateway",
         "HTTPRoute", "StatefulSet", "PersistentVolumeClaim")


class SimBackend:
    """A deterministic, virtual-time cluster: same inputs and seed, same Timeline."""

    name = "sim"

    def __init__(self, seed: int = 0, profile: "TimingProfile | dict | None" = None,
                 workers: int = 2, node_cpu: str = "4", node_memory: str = "8Gi",
                 images: Optional[dict] = None):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise UsageError(f"seed={seed!r}: must be an integer")
        if not isinstance(workers, int) or isinstance(workers, bool) \
                or not 1 <= workers <= MAX_WORKERS:
            raise UsageError(f"workers={workers!r}: must be a whole number of worker nodes from 1 "
                             f"to {MAX_WORKERS:,} (Kubernetes' largest supported cluster)")
        cpu_m = _node_quantity("node_cpu", node_cpu, parse_cpu, NODE_CPU_M, "cpu", "4 or 500m")
        memory_mi = _node_quantity("node_memory", node_memory, parse_memory, NODE_MEMORY_MI,
                                   "memory", "8Gi or 512Mi")
        self.timeline = Timeline()
        self.profile = KIND_LIKE.with_overrides(profile)
        self.cluster = Cluster(seed=seed, profile=self.profile,
                               images=images if images is not None else load_images(),
                               workers=workers, node_cpu_m=cpu_m, node_memory_mi=memory_mi,
                               timeline=self.timeline)
        self.notes = Notes()
        self.pending_notes: list[str] = []
        self._probes_noted: set = set()
        self._traffic: list[TrafficSource] = []

    # -- notes ----------------------------------------------------------------------------
    @property
    def pending_notes(self) -> list[str]:
        """What the reader must be told (Lab prints and clears it): fields the simulator does
        not model and exec probe commands it cannot run — each once per Lab here, and Lab
        prints each once per Python session (``lab.NOTES_SAID``)."""
        self._note_exec_probes()
        return self._pending_notes

    @pending_notes.setter
    def pending_notes(self, value: list[str]) -> None:
        self._pending_notes = value

    def _note_exec_probes(self) -> None:
        for d in self.cluster.deployments.values():
            key = (d.name, d.generation)
            if key in self._probes_noted:
                continue
            self._probes_noted.add(key)
            try:
                template = parse_template(d.template)
            except ManifestError:
                continue        # refused where it is applied; nothing to note here
            env = {**self.cluster.images.get(template.image, {}), **template.env_dict()}
            ready_file = env.get("READY_FILE", READY_FILE)
            for probe in (template.startup, template.readiness, template.liveness):
                if probe is not None and probe.kind == "exec":
                    self._pending_notes += self.notes.new(
                        execprobe.notes(probe.command, ready_file, template.image))

    # -- time -----------------------------------------------------------------------------
    def now(self) -> float:
        return self.cluster.kernel.now

    def wait(self, until: Optional[Callable[[], bool]] = None, timeout: float = 60.0) -> bool:
        if not _finite(timeout) or timeout < 0:
            raise UsageError(f"timeout={timeout!r}: must be a finite number of seconds >= 0")
        kernel = self.cluster.kernel
        if until is None:
            kernel.run_until(kernel.now + timeout)
            return True
        seen = [-1]

        def changed_and_true() -> bool:
            # Only look again when something a waiter could care about changed.
            if self.cluster.changes == seen[0]:
                return False
            seen[0] = self.cluster.changes
            return until()

        return kernel.run_until(kernel.now + timeout, changed_and_true)

    # -- objects ------------------------------------------------------------------------------
    def dry_run(self, obj: dict) -> dict:
        """Everything apply checks, against the cluster as it is now; stores nothing."""
        checked, _ = self._check(obj)
        return checked

    def _check(self, obj: dict) -> tuple[dict, list[str]]:
        obj, notes = validate(obj)
        if obj["kind"] == "Deployment":
            d = self.cluster.deployments.get(obj["metadata"]["name"])
            if d is not None and obj["spec"].get("selector") != d.spec.get("selector"):
                # ValidateDeploymentUpdate: apps/v1 spec.selector is immutable.
                raise ManifestError(
                    f'Deployment.apps "{d.name}" is invalid: spec.selector: Invalid value: '
                    f"{_selector_struct(obj['spec'].get('selector') or {})}: field is immutable; "
                    "delete the Deployment to change it")
        # As the kind backend does (kube/_guard.prepare_for_apply): what the kit
        # applies carries its label, so Lab.reset() finds it the same way on both.
        obj["metadata"]["labels"][MANAGED_BY_KEY] = MANAGED_BY_VALUE
        return obj, notes

    def apply(self, obj: dict) -> dict:
        obj, notes = self._check(obj)
        fresh = self.notes.new(notes)
        self.pending_notes += fresh
        kind, meta = obj["kind"], obj["metadata"]
        name, c = meta["name"], self.cluster
        now = c.kernel.now
        c.changes += 1
        if kind == "Deployment":
            d = c.deployments.get(name)
            if d is None:
                d = Deployment(name, meta["namespace"], meta.get("labels", {}),
                               dict(meta.get("annotations") or {}), obj["spec"], now, c.uid())
                c.deployments[name] = d
            else:
                self._update_deployment(d, obj["spec"], meta)
            c.deployments_controller.enqueue(name)
            return d.to_dict()
        if kind == "StatefulSet":
            return c.data.apply(obj)
        if kind == "Service":
            c.services[name] = Service(name, meta["namespace"], meta.get("labels", {}),
                                       obj["spec"], now, c.uid())
            c.network.service_changed(name)
            return c.services[name].to_dict()
        store = c.gateways if kind == "Gateway" else c.routes
        store[name] = GatewayObject(kind, name, meta["namespace"], meta.get("labels", {}),
                                    obj["spec"], now, c.uid())
        c.network.routes_changed()
        return store[name].to_dict()

    def _update_deployment(self, d: Deployment, spec: dict, meta: dict) -> None:
        if spec != d.spec:
            min_ready_changed = spec.get("minReadySeconds") != d.spec.get("minReadySeconds")
            d.spec = spec
            d.generation += 1
            if min_ready_changed:
                self.cluster.rs_min_ready_changed(d)
        d.labels = meta.get("labels", d.labels)

    def delete(self, kind: str, name: str) -> None:
        c = self.cluster
        self._check_kind(kind)
        c.changes += 1
        if kind == "Deployment":
            self._require(c.deployments, kind, name)
            del c.deployments[name]
            for rs in c.replicasets_of(name):
                rs.replicas = 0
                for pod in list(rs.pods):
                    c.delete_pod(pod)
                c.delete_replicaset(rs)
        elif kind == "Service":
            self._require(c.services, kind, name)
            del c.services[name]
            c.network.service_changed(name)
        elif kind in ("Gateway", "HTTPRoute"):
            store = c.gateways if kind == "Gateway" else c.routes
            self._require(store, kind, name)
            del store[name]
            c.network.routes_changed()
        elif kind == "Pod":
            c.delete_pod(self._require(c.pods, kind, name))
        elif kind == "StatefulSet":
            self._require(c.data.statefulsets, kind, name)
            c.data.delete(name)
        elif kind == "PersistentVolumeClaim":
            self._require(c.data.volumes, kind, name)
            c.data.delete_volume(name)
        else:
            raise UsageError(f"deleting a {kind} directly is not supported; delete its Deployment")

    def get(self, kind: str, name: str) -> dict:
        self._check_kind(kind)
        c = self.cluster
        if kind == "EndpointSlice":
            self._require(c.services, "Service", name)
            return c.network.endpointslice_dict(name)
        store = self._store(kind)
        return self._require(store, kind, name).to_dict()

    def list(self, kind: str, selector: Optional[dict] = None) -> list[dict]:
        self._check_kind(kind)
        c = self.cluster
        if kind == "Event":
            return [{"kind": "Event", "involvedObject": {"kind": e.kind, "name": e.name},
                     "reason": e.reason, "message": e.message, "count": e.count, "type": e.type,
                     "firstTimestamp": e.t, "lastTimestamp": e.last_t}
                    for e in self.timeline.events]
        if kind == "EndpointSlice":
            items = [c.network.endpointslice_dict(n) for n in sorted(c.services)]
        else:
            items = [o.to_dict() for o in self._store(kind).values()]
        if selector:
            items = [o for o in items if all((o["metadata"].get("labels") or {}).get(k) == v
                                             for k, v in selector.items())]
        return items

    def _store(self, kind: str) -> dict:
        c = self.cluster
        if kind in ("StatefulSet", "PersistentVolumeClaim"):
            return c.data.rendered(kind)
        return {"Deployment": c.deployments, "ReplicaSet": c.replicasets, "Pod": c.pods,
                "Service": c.services, "Gateway": c.gateways, "HTTPRoute": c.routes}[kind]

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}; the simulator knows {', '.join(KINDS)}")

    @staticmethod
    def _require(store: dict, kind: str, name: str):
        try:
            return store[name]
        except KeyError:
            known = ", ".join(sorted(store)) or "none"
            raise NotFoundError(f'{kind} "{name}" not found (existing: {known})') from None

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        current = self.get(kind, name)
        body = {"apiVersion": current["apiVersion"], "kind": kind,
                "metadata": {"name": name, "namespace": current["metadata"]["namespace"],
                             "labels": current["metadata"].get("labels", {})},
                "spec": current["spec"]}
        merged = strategic_merge(body, {k: v for k, v in patch.items() if k in ("spec", "metadata")})
        return self.apply(merged)

    def scale(self, name: str, replicas: int) -> None:
        if not isinstance(replicas, int) or replicas < 0:
            raise UsageError(f"replicas={replicas!r}: must be a whole number >= 0")
        self.patch("Deployment", name, {"spec": {"replicas": replicas}})

    def rollout_undo(self, name: str, to_revision: Optional[int] = None) -> int:
        c = self.cluster
        d = self._require(c.deployments, "Deployment", name)
        if d.spec.get("paused"):
            raise UsageError(f"you cannot rollback a paused deployment; resume it first with "
                             f"'kubectl rollout resume deployment/{name}' and try again")
        history = sorted(c.replicasets_of(name), key=lambda rs: rs.revision)
        if to_revision in (None, 0):
            if len(history) < 2:
                raise NotFoundError(f'no rollout history found for deployment "{name}": '
                                    "there is no previous revision to go back to")
            target = history[-2]
        else:
            target = next((rs for rs in history if rs.revision == to_revision), None)
            if target is None:
                known = ", ".join(str(rs.revision) for rs in history)
                raise NotFoundError(f"unable to find specified revision {to_revision} in history "
                                    f"(revisions: {known})")
        template = copy.deepcopy(target.template)
        template["metadata"]["labels"].pop(r.POD_TEMPLATE_HASH, None)
        revision = target.revision
        if c.hash_of(template) == c.hash_of(d.template):
            self.pending_notes.append(f"skipped rollback (current template already matches "
                                      f"revision {revision})")
            return revision
        # The whole template is replaced (not merged), as kubectl's undo does.
        current = self.get("Deployment", name)
        spec = current["spec"]
        spec["template"] = template
        self.apply({"apiVersion": "apps/v1", "kind": "Deployment", "spec": spec,
                    "metadata": {k: current["metadata"][k] for k in ("name", "namespace", "labels")}})
        return revision

    # -- traffic ---------------------------------------------------------------------------------
    def start_traffic(self, target: str, rps: float, *, poisson: bool = False,
                      timeout_s: float = 1.0, users: int = 0,
                      workload: str = "shop") -> TrafficSource:
        if not _finite(rps) or rps <= 0:
            raise UsageError(f"rps={rps!r}: the request rate must be a finite number > 0")
        if not _finite(timeout_s) or timeout_s <= 0:
            raise UsageError(f"timeout_s={timeout_s!r}: the client timeout must be a finite "
                             "number of seconds > 0")
        c = self.cluster
        name = target.split("/", 1)[1] if target.startswith("gateway/") else target
        store = c.gateways if target.startswith("gateway/") else c.services
        self._require(store, "Gateway" if target.startswith("gateway/") else "Service", name)
        if users:
            check_users(users, workload)
            source = UserTraffic(c, target, float(rps), poisson, timeout_s, c.kernel.now, users,
                                 workload)
        else:
            source = TrafficSource(c, target, float(rps), poisson, timeout_s, c.kernel.now)
        c.kernel.gap_fillers.append(source.fill)
        self._traffic.append(source)
        return source

    def stop_traffic(self, handle: TrafficSource) -> None:
        if isinstance(handle, UserTraffic) and not handle.stopped:
            handle.audit()              # every order written read back once more
        handle.stopped = True
        if handle.fill in self.cluster.kernel.gap_fillers:
            self.cluster.kernel.gap_fillers.remove(handle.fill)
        if handle in self._traffic:
            self._traffic.remove(handle)

    def close(self) -> None:
        for handle in list(self._traffic):
            self.stop_traffic(handle)


def _selector_struct(selector: dict) -> str:
    """A LabelSelector as the API server prints it (Go's %#v of metav1.LabelSelector)."""
    labels = selector.get("matchLabels")
    shown = go_value(labels) if labels else "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if exprs:
        inner = ", ".join(
            f'v1.LabelSelectorRequirement{{Key:{go_value(e.get("key", ""))}, '
            f'Operator:{go_value(e.get("operator", ""))}, '
            f'Values:[]string{{{", ".join(go_value(v) for v in e.get("values") or [])}}}}}'
            for e in exprs)
        req = f"[]v1.LabelSelectorRequirement{{{inner}}}"
    else:
        req = "[]v1.LabelSelectorRequirement(nil)"
    return f"v1.LabelSelector{{MatchLabels:{shown}, MatchExpressions:{req}}}"
