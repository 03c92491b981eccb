"""Lab: the one object a notebook uses.  It picks the backend and stays thin.

Every operation prints the ``kubectl`` command that does the same on a real
cluster, so readers learn kubectl while they work::

    lab = Lab()                         # $RELEASELAB_BACKEND: "sim" (default) or "kind"
    lab.apply("rolling/web.yaml")
    lab.wait_available("web")
    with lab.traffic(rps=50) as run:
        lab.set_image("web", "releaselab/web:3.1")
        lab.wait_rollout("web")
        lab.wait_settled("web")
    run.summary()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import manifests
from . import rollout as r
from .backend import Backend
from .errors import NotFoundError, ReleaseLabError, UsageError, WaitTimeout
from .kube._guard import MANAGED_BY_KEY, MANAGED_BY_VALUE
from .timeline import Timeline

#: After a Deployment is available, kube-proxy still needs its rules: 0.30 s
#: on the reference cluster.  wait_available waits this long on top, so
#: traffic started next does not meet endpoints that are not routable yet.
ENDPOINTS_SETTLE_S = 1.0


@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended, like ``kubectl rollout status``: status and duration."""

    status: str            # "complete" or "ProgressDeadlineExceeded"
    seconds: float         # from the change that started the rollout

    @property
    def complete(self) -> bool:
        return self.status == "complete"


class TrafficRun:
    """The requests sent inside one ``with lab.traffic(...)`` block."""

    def __init__(self, lab: "Lab", target: str, rps: float, poisson: bool, timeout_s: float):
        self.lab, self.target, self.rps = lab, target, rps
        self._poisson, self._timeout_s = poisson, timeout_s
        self.start: float = lab.now()
        self.end: Optional[float] = None
        self._handle = None

    def __enter__(self) -> "TrafficRun":
        self.start = self.lab.now()
        self._handle = self.lab.backend.start_traffic(self.target, self.rps, poisson=self._poisson,
                                                      timeout_s=self._timeout_s)
        return self

    def __exit__(self, *exc) -> None:
        self.lab.backend.stop_traffic(self._handle)
        self.end = self.lab.now()

    @property
    def requests(self):
        end = self.end if self.end is not None else float("inf")
        return self.lab.timeline.requests_between(self.start, end, self.target)

    @property
    def failed(self) -> int:
        return sum(1 for q in self.requests if not q.ok)

    @property
    def sent(self) -> int:
        return len(self.requests)

    def summary(self, deployment: Optional[str] = None):
        """Requests of this run only (its target, its window), and the rollout figures."""
        return self.lab.timeline.summary(self.start, self.end, deployment=deployment,
                                         target=self.target)

    def plot(self, deployment: Optional[str] = None, title: Optional[str] = None):
        """This run's requests (its target only) under the pods of the same window."""
        return self.lab.timeline.plot(self.start, self.end, deployment=deployment, title=title,
                                      target=self.target)


class Lab:
    """A cluster to release on — simulated (default) or a real kind cluster."""

    def __init__(self, backend: "str | Backend | None" = None, *, seed: int = 0,
                 profile=None, echo: bool = True, workers: int = 2, node_cpu: str = "4",
                 node_memory: str = "8Gi", context: Optional[str] = None):
        choice = backend if backend is not None else os.environ.get("RELEASELAB_BACKEND", "sim")
        self.echo = echo
        if isinstance(choice, str):
            if choice == "sim":
                from .sim import SimBackend

                self.backend = SimBackend(seed=seed, profile=profile, workers=workers,
                                          node_cpu=node_cpu, node_memory=node_memory)
            elif choice == "kind":
                from .kube import make_backend

                self.backend = make_backend(context=context)
                shaped = [name for name, value, default in (
                    ("workers", workers, 2), ("node_cpu", node_cpu, "4"),
                    ("node_memory", node_memory, "8Gi"), ("profile", profile, None))
                    if value != default]
                if shaped:
                    print(f"note: {', '.join(shaped)} shape(s) the simulated cluster only; on kind "
                          "the nodes are those of cluster/kind.yaml and the delays are real")
            else:
                raise UsageError(f"backend={choice!r}: choose 'sim' (the embedded simulator) or "
                                 "'kind' (a real kind cluster; see `releaselab cluster up`)")
        elif isinstance(choice, Backend):
            self.backend = choice
        else:
            raise UsageError(f"backend={choice!r}: pass 'sim', 'kind' or a Backend object")
        self._rollout_started: dict[str, float] = {}

    # -- basics ----------------------------------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        return self.backend.timeline

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def now(self) -> float:
        return self.backend.now()

    def _say(self, command: str) -> None:
        if self.echo:
            print(f"$ kubectl {command}")

    def _notes(self) -> None:
        pending = getattr(self.backend, "pending_notes", None)
        if pending:
            for note in pending:
                if note.startswith("skipped rollback"):
                    print(note)
                else:
                    print(f"note: the simulator does not model {note} (ignored)")
            pending.clear()

    def mark(self, label: str, category: str = "action") -> None:
        """Put a labelled line on the Timeline's plots at the current time."""
        self.timeline.mark(self.now(), label, category)

    # -- objects -------------------------------------------------------------------------------
    def apply(self, source) -> list[dict]:
        """Apply a manifest: a path under cluster/manifests/, YAML text, a dict or a list.

        All or nothing: every document is checked first — by the API server's
        rules, then by a dry run against the cluster as it is (an immutable
        selector included) — and only then are they applied, in order."""
        objects = manifests.load(source)
        # The same one line on both backends: check locally before sending any
        # (on kind the API server checks again, in the dry run and the apply).
        for obj in objects:
            if self.backend.name == "sim" or (obj.get("apiVersion"),
                                              obj.get("kind")) in manifests.SUPPORTED:
                manifests.validate(obj)
        for obj in objects:
            self.backend.dry_run(obj)
        shown = source if isinstance(source, (str, Path)) and "\n" not in str(source) else "-"
        self._say(f"apply -f {_display_path(shown)}" if shown != "-" else "apply -f -")
        for obj in objects:
            for warning in manifests.warnings(obj):
                print(f"Warning: {warning}")
        before = {o["metadata"]["name"]: self._template_of(o) for o in objects
                  if o.get("kind") == "Deployment"}
        applied = []
        for obj in objects:
            applied.append(self.backend.apply(obj))
            name = obj["metadata"]["name"]
            if obj.get("kind") == "Deployment" and before.get(name) is not None:
                self._rollout_started[name] = self.now()
        self._notes()
        return applied

    def _template_of(self, obj: dict) -> Optional[dict]:
        """The live template if ``obj`` would change it (so a rollout starts), else None."""
        try:
            live = self.backend.get("Deployment", obj["metadata"]["name"])
        except ReleaseLabError:
            return None
        new, _ = manifests.validate(obj)
        return live["spec"]["template"] if new["spec"]["template"] != live["spec"]["template"] \
            else None

    def delete(self, kind: str, name: str) -> None:
        self._say(f"delete {kind.lower()} {name}")
        self.backend.delete(kind, name)

    def get(self, kind: str, name: str) -> dict:
        return self.backend.get(kind, name)

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        """A strategic-merge patch, like ``kubectl patch`` (a Service selector, route weights)."""
        import json

        self._say(f"patch {kind.lower()} {name} -p '{json.dumps(patch, separators=(',', ':'))}'")
        result = self.backend.patch(kind, name, patch)
        self._notes()
        return result

    def pods(self, selector: Optional[dict] = None) -> "PodList":
        """Pods now, like ``kubectl get pods``: name, version, status, ready, restarts, node."""
        self._say("get pods" + (" -l " + ",".join(f"{k}={v}" for k, v in selector.items())
                                if selector else ""))
        return PodList(self.backend.list("Pod", selector), self.timeline)

    def set_image(self, name: str, image: str, container: Optional[str] = None) -> None:
        container = container or self._first_container(name)
        self._say(f"set image deployment/{name} {container}={image}")
        self._patch_template(name, {"containers": [{"name": container, "image": image}]})

    def set_env(self, name: str, container: Optional[str] = None, **env) -> None:
        if not env:
            raise UsageError("set_env needs at least one NAME=value, e.g. set_env('web', LATENCY_MS='50')")
        container = container or self._first_container(name)
        pairs = " ".join(f"{k}={v}" for k, v in env.items())
        self._say(f"set env deployment/{name} {pairs}")
        self._patch_template(name, {"containers": [
            {"name": container, "env": [{"name": k, "value": str(v)} for k, v in env.items()]}]})

    def _first_container(self, name: str) -> str:
        return self.backend.get("Deployment", name)["spec"]["template"]["spec"]["containers"][0]["name"]

    def _patch_template(self, name: str, pod_spec: dict) -> None:
        before = self.backend.get("Deployment", name)["spec"]["template"]
        after = self.backend.patch("Deployment", name, {"spec": {"template": {"spec": pod_spec}}})
        if after["spec"]["template"] != before:
            self._rollout_started[name] = self.now()
        self._notes()

    def scale(self, name: str, replicas: int) -> None:
        self._say(f"scale deployment/{name} --replicas={replicas}")
        self.backend.scale(name, replicas)

    def rollout_undo(self, name: str, to_revision: Optional[int] = None) -> int:
        flag = f" --to-revision={to_revision}" if to_revision else ""
        self._say(f"rollout undo deployment/{name}{flag}")
        revision = self.backend.rollout_undo(name, to_revision)
        self._rollout_started[name] = self.now()
        self._notes()
        return revision

    def rollout_pause(self, name: str) -> None:
        self._say(f"rollout pause deployment/{name}")
        self.backend.patch("Deployment", name, {"spec": {"paused": True}})

    def rollout_resume(self, name: str) -> None:
        self._say(f"rollout resume deployment/{name}")
        self.backend.patch("Deployment", name, {"spec": {"paused": False}})

    def rollout_history(self, name: str) -> list[dict]:
        """Revisions of a Deployment, oldest first: revision, image, replicas now."""
        self._say(f"rollout history deployment/{name}")
        self.backend.get("Deployment", name)
        rows = []
        for rs in self.backend.list("ReplicaSet"):
            owners = rs["metadata"].get("ownerReferences") or []
            if not any(o.get("name") == name for o in owners):
                continue
            containers = rs["spec"]["template"]["spec"]["containers"]
            rows.append({"revision": int(rs["metadata"]["annotations"].get(r.REVISION_ANNOTATION, 0)),
                         "replicaset": rs["metadata"]["name"], "image": containers[0]["image"],
                         "replicas": rs["spec"]["replicas"]})
        return sorted(rows, key=lambda row: row["revision"])

    # -- waiting -------------------------------------------------------------------------------
    def wait(self, seconds: float) -> None:
        """Let the cluster run for ``seconds`` (virtual on the simulator)."""
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise UsageError(f"wait({seconds!r}): seconds must be a number >= 0")
        self.backend.wait(None, float(seconds))

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        if not self.backend.wait(condition, timeout):
            raise WaitTimeout(f"{what} did not happen within {timeout:g} s")

    def wait_available(self, name: str, timeout: float = 300.0) -> None:
        """Until every replica of Deployment ``name`` is available, then until kube-proxy has them."""
        deployment = self.backend.get("Deployment", name)
        replicas = deployment["spec"]["replicas"]
        self._say(f"wait deployment/{name} --for=jsonpath='{{.status.availableReplicas}}'={replicas}")

        def available() -> bool:
            d = self.backend.get("Deployment", name)
            status = d.get("status") or {}
            return ((status.get("availableReplicas") or 0) >= d["spec"]["replicas"]
                    and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 0))

        self.wait_until(available, timeout, f'deployment "{name}" becoming available')
        self.backend.wait(None, ENDPOINTS_SETTLE_S)

    def wait_rollout(self, name: str, timeout: Optional[float] = None) -> RolloutResult:
        """Like ``kubectl rollout status``: until complete or ProgressDeadlineExceeded.

        As with kubectl, a slow rollout that keeps progressing is waited for;
        a stuck one ends when its progress deadline passes.  ``timeout`` only
        guards against waiting forever (a paused Deployment); default 3600 s."""
        timeout = 3600.0 if timeout is None else timeout
        self._say(f"rollout status deployment/{name}")
        started = self._rollout_started.get(name, self.now())
        state = {}

        def finished() -> bool:
            message, done, failed = r.rollout_status(self.backend.get("Deployment", name))
            state.update(message=message, done=done, failed=failed)
            return done or failed

        self.wait_until(finished, timeout, f'rollout of deployment "{name}" finishing')
        seconds = round(self.now() - started, 2)
        if state["failed"]:
            if self.echo:
                print(f"error: {state['message']}")
            return RolloutResult(r.TIMED_OUT, seconds)
        if self.echo:
            print(state["message"])
        return RolloutResult("complete", seconds)

    def wait_settled(self, name: str, timeout: float = 300.0) -> None:
        """Until no pod of Deployment ``name`` is terminating (old pods finished shutting down)."""
        self._say(f"wait --for=delete pod -l app={name}  # the terminating ones")

        def settled() -> bool:
            return not any(p["metadata"].get("deletionTimestamp") is not None
                           for p in self._pods_of(name))

        self.wait_until(settled, timeout, f'every terminating pod of "{name}" going away')

    def _pods_of(self, name: str) -> list[dict]:
        out = []
        for pod in self.backend.list("Pod"):
            owners = pod["metadata"].get("ownerReferences") or []
            rs = owners[0]["name"] if owners else ""
            prefix = rs.rsplit("-", 1)[0]
            if prefix == name:
                out.append(pod)
        return out

    def traffic(self, rps: float = 50, target: str = "web", poisson: bool = False,
                timeout_s: float = 1.0) -> TrafficRun:
        """Open-loop clients against Service ``target`` (or ``"gateway/<name>"``)."""
        return TrafficRun(self, target, rps, poisson, timeout_s)

    # -- starting clean ------------------------------------------------------------------------
    #: What :meth:`reset` deletes: every object a lab applies.
    RESET_KINDS = ("HTTPRoute", "Gateway", "Service", "Deployment")

    def reset(self, timeout: float = 300.0) -> None:
        """Delete every object the kit applied and wait until their pods are gone.

        A lab (or one exercise) starts from this known state, so what an earlier
        run left behind — a Deployment mid-rollout, an old Service — cannot turn
        the next ``apply`` into a rollout of leftovers and corrupt a measurement.
        On kind it deletes only objects labelled
        ``app.kubernetes.io/managed-by=releaselab`` in namespace ``releaselab``
        (the kit labels what it applies); on a fresh simulator it has nothing to do.
        """
        selector = {MANAGED_BY_KEY: MANAGED_BY_VALUE}
        self._say("delete " + ",".join(k.lower() for k in self.RESET_KINDS)
                  + f" -l {MANAGED_BY_KEY}={MANAGED_BY_VALUE}")
        selectors = []
        for kind in self.RESET_KINDS:
            for obj in self.backend.list(kind, selector):
                try:
                    self.backend.delete(kind, obj["metadata"]["name"])
                except NotFoundError:
                    continue            # already going away
                if kind == "Deployment":
                    selectors.append(obj["spec"]["selector"].get("matchLabels") or {})
        for labels in selectors:
            shown = ",".join(f"{k}={v}" for k, v in labels.items())
            self._say(f"wait --for=delete pod -l {shown} --timeout={timeout:g}s")
        self.wait_until(lambda: not any(self.backend.list("Pod", labels) for labels in selectors
                                        if labels), timeout,
                        "every pod of the deleted Deployments going away")
        self._rollout_started.clear()

    def close(self) -> None:
        """Stop traffic and watches; the cluster's objects stay as they are."""
        self.backend.close()

    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PodList(list):
    """``kubectl get pods`` as a list of dicts, printed as the familiar table."""

    def __init__(self, items: list[dict], timeline: Timeline):
        rows = []
        for pod in sorted(items, key=lambda p: p["metadata"]["name"]):
            status = pod["status"]["containerStatuses"][0] if pod["status"].get(
                "containerStatuses") else {}
            state = status.get("state", {})
            if pod["metadata"].get("deletionTimestamp") is not None:
                shown = "Terminating"
            elif not pod["spec"].get("nodeName"):
                shown = "Pending"
            elif "waiting" in state:
                shown = state["waiting"].get("reason", "Waiting")
            else:
                shown = pod["status"].get("phase", "Unknown")
            record = timeline.pod(pod["metadata"]["name"])
            rows.append({"name": pod["metadata"]["name"],
                         "version": record.version if record else None,
                         "ready": "1/1" if status.get("ready") else "0/1", "status": shown,
                         "restarts": status.get("restartCount", 0),
                         "node": pod["spec"].get("nodeName")})
        super().__init__(rows)

    def __repr__(self) -> str:
        if not self:
            return "No resources found in releaselab namespace."
        cols = ["name", "version", "ready", "status", "restarts", "node"]
        widths = {c: max(len(c), *(len(str(row[c])) for row in self)) for c in cols}
        lines = ["  ".join(c.upper().ljust(widths[c]) for c in cols)]
        lines += ["  ".join(str(row[c]).ljust(widths[c]) for c in cols) for row in self]
        return "\n".join(line.rstrip() for line in lines)


def _display_path(source) -> str:
    path = Path(str(source))
    if path.is_absolute():
        return str(path)
    return f"cluster/manifests/{path.as_posix()}"
