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

from . import _args
from . import manifests
from . import rollout as r
from ._kubectl import (APPLY, Kubectl, PodList, RevisionList, display_path,
                       old_pods_selector, selector_text)
from .backend import Backend
from .errors import ManifestError, NotFoundError, ReleaseLabError, UsageError, WaitTimeout
from .kube._guard import MANAGED_BY_KEY, MANAGED_BY_VALUE
from .timeline import Timeline

#: After a Deployment is available, kube-proxy still needs its rules: 0.30 s
#: on the reference cluster.  wait_available waits this long on top, so
#: traffic started next does not meet endpoints that are not routable yet.
ENDPOINTS_SETTLE_S = 1.0
#: Every note about what the kit cannot model, printed once per Python session.
NOTES_SAID: set[str] = set()


@dataclass(frozen=True)
class RolloutResult:
    """How a rollout ended, like ``kubectl rollout status``: status and duration."""

    status: str            # "complete" or "ProgressDeadlineExceeded"
    seconds: float         # from the change that started the rollout

    @property
    def complete(self) -> bool:
        return self.status == "complete"


@_args.check_calls
class TrafficRun:
    """The requests sent inside one ``with lab.traffic(...)`` block."""

    def __init__(self, lab: "Lab", target: str, rps: float, poisson: bool, timeout_s: float,
                 users: int = 0, workload: str = "shop"):
        self.lab, self.target, self.rps = lab, target, rps
        self._poisson, self._timeout_s = poisson, timeout_s
        # Only a user traffic passes these on, so a backend without users still works.
        self._users = {"users": users, "workload": workload} if users else {}
        self.start: float = lab.now()
        self.end: Optional[float] = None
        self._handle = None

    def __enter__(self) -> "TrafficRun":
        self.start = self.lab.now()
        self._handle = self.lab.backend.start_traffic(self.target, self.rps, poisson=self._poisson,
                                                      timeout_s=self._timeout_s, **self._users)
        return self

    def __exit__(self, *exc) -> None:
        self.lab.backend.stop_traffic(self._handle)
        self.end = self.lab.now()
        self.lab._notes()         # e.g. the prober's word on requests it could not send

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

    def _mine(self, rows) -> list:
        end = self.end if self.end is not None else float("inf")
        return [r for r in rows if r.target == self.target and self.start <= r.t < end]

    @property
    def orders(self):
        """The orders this run's users were told were written (with their audit)."""
        return self._mine(self.lab.timeline.orders)

    @property
    def lost(self) -> int:
        """Orders answered 201 that the audit found missing, wrong or unreadable."""
        return sum(1 for o in self.orders if o.lost)

    @property
    def logouts(self):
        """Every time one of this run's logged-in users found its session gone."""
        return self._mine(self.lab.timeline.logouts)

    @property
    def logged_out(self) -> int:
        """Users who found their session gone at least once during this run."""
        return len({x.user for x in self.logouts})

    def summary(self, deployment: Optional[str] = None):
        """Requests of this run only (its target, its window), and the rollout figures."""
        return self.lab.timeline.summary(self.start, self.end, deployment=deployment,
                                         target=self.target)

    def plot(self, deployment: Optional[str] = None, title: Optional[str] = None):
        """This run's requests (its target only) under the pods of the same window."""
        return self.lab.timeline.plot(self.start, self.end, deployment=deployment, title=title,
                                      target=self.target)


@_args.check_calls
class Lab:
    """A cluster to release on — simulated (default) or a real kind cluster."""

    def __init__(self, backend: "str | Backend | None" = None, *, seed: int = 0,
                 profile=None, echo: bool = True, workers: int = 2, node_cpu: str = "4",
                 node_memory: str = "8Gi", context: Optional[str] = None):
        choice = backend if backend is not None else os.environ.get("RELEASELAB_BACKEND", "sim")
        _check_lab_arguments(seed, echo, workers, node_cpu, node_memory, context)
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
        self._notes()       # e.g. the kind backend's word on an older API server

    # -- basics ----------------------------------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        return self.backend.timeline

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def now(self) -> float:
        return self.backend.now()

    def _say(self, command: str, comment: Optional[str] = None) -> None:
        """Print the kubectl command that does the same (see :mod:`._kubectl`)."""
        Kubectl(getattr(self.backend, "context", None), getattr(self.backend, "namespace", None),
                self.echo).say(command, comment)

    def _notes(self) -> None:
        pending = getattr(self.backend, "pending_notes", None)
        if pending:
            for note in pending:
                if note.startswith("skipped rollback"):     # what just happened: every time
                    print(note)
                    continue
                if self.backend.name != "sim":
                    line = note if note.startswith("note:") else f"note: {note}"
                elif note.startswith("the simulator"):      # a whole sentence already
                    line = f"note: {note}"
                else:
                    line = f"note: the simulator does not model {note} (ignored)"
                # What the kit cannot model is said once per session, not once per Lab:
                # lab 05 builds eight Labs with the same StatefulSets.
                if line not in NOTES_SAID:
                    NOTES_SAID.add(line)
                    print(line)
            pending.clear()

    def mark(self, label: str, category: str = "action") -> None:
        """Put a labelled line on the Timeline's plots at the current time."""
        _args.text("mark", "label", label, "lab.mark('switched traffic')")
        _args.text("mark", "category", category, "'action'")
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
        self._say(f"{APPLY} -f " + (display_path(shown, manifests.manifests_root())
                                    if shown != "-" else "-"))
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
        _args.text("delete", "kind", kind, "'Deployment'")
        _args.name("delete", name, f"the {kind}'s name")
        self._say(f"delete {kind.lower()} {name}")
        self.backend.delete(kind, name)

    def get(self, kind: str, name: str) -> dict:
        _args.text("get", "kind", kind, "'Deployment'")
        _args.name("get", name, f"the {kind}'s name")
        return self.backend.get(kind, name)

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        """A strategic-merge patch, like ``kubectl patch`` (a Service selector, route weights).

        Gateway API kinds are custom resources, which take no strategic merge:
        the kind backend sends them a JSON merge patch, and so does the twin."""
        import json

        _args.text("patch", "kind", kind, "'Service'")
        _args.name("patch", name, f"the {kind}'s name")
        if not isinstance(patch, dict) or not patch:
            raise UsageError(f"patch(patch={patch!r}): a patch is a non-empty dict in the object's "
                             "shape, e.g. {'spec': {'selector': {'app': 'web-green'}}}")
        merge = " --type=merge" if kind in ("Gateway", "HTTPRoute") else ""
        self._say(f"patch {kind.lower()} {name}{merge} "
                  f"-p '{json.dumps(patch, separators=(',', ':'))}'")
        result = self.backend.patch(kind, name, patch)
        self._notes()
        return result

    def pods(self, selector: Optional[dict] = None, wide: bool = False) -> "PodList":
        """Pods now, like ``kubectl get pods`` (its columns when printed; ``wide``: ``-o wide``,
        with each pod's node — ``<none>`` for one no node has room for).

        Each row is a dict: name, version, ready, status, restarts, age, ip, node."""
        _args.selector("pods", selector)
        _args.flag("pods", "wide", wide)
        self._say("get pods" + (" -o wide" if wide else "")
                  + (" -l " + selector_text(selector) if selector else ""))
        return PodList(self.backend.list("Pod", selector), self.timeline, self.now(), wide=wide)

    def set_image(self, name: str, image: str, container: Optional[str] = None) -> None:
        _args.name("set_image", name)
        _args.text("set_image", "image", image, "'releaselab/web:3.1'")
        container = self._container(name, container, "set_image")
        self._say(f"set image deployment/{name} {container}={image}")
        self._patch_template(name, {"containers": [{"name": container, "image": image}]})

    def set_env(self, name: str, container: Optional[str] = None, **env) -> None:
        _args.name("set_env", name)
        if not env:
            raise UsageError("set_env needs at least one NAME=value, e.g. set_env('web', LATENCY_MS='50')")
        for key, value in env.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)) or \
                    isinstance(value, float) and value != value:
                raise UsageError(f"set_env({key}={value!r}): an environment value is a string "
                                 f"or a number, e.g. {key}='50'")
        container = self._container(name, container, "set_env")
        pairs = " ".join(f"{k}={v}" for k, v in env.items())
        self._say(f"set env deployment/{name} -c {container} {pairs}")
        self._patch_template(name, {"containers": [
            {"name": container, "env": [{"name": k, "value": str(v)} for k, v in env.items()]}]})

    def _container(self, name: str, container: Optional[str], call: str) -> str:
        """The container to change: the one named, which must exist, or else the first."""
        containers = [c.get("name") for c in self.backend.get("Deployment", name)["spec"]
                      ["template"]["spec"]["containers"]]
        if container is None:
            return containers[0]
        _args.text(call, "container", container, repr(containers[0]))
        if container not in containers:
            # kubectl's words: set image errors (cmd/set/set_image.go); set env only
            # warns and changes nothing (cmd/set/set_env.go), which the kit will not
            # leave silent.
            if call == "set_image":
                raise NotFoundError(f'unable to find container named "{container}" in '
                                    f'deployment "{name}" (its containers: {", ".join(containers)})')
            raise NotFoundError(f'deployments/{name} does not have any containers matching '
                                f'"{container}" (its containers: {", ".join(containers)})')
        return container

    def _patch_template(self, name: str, pod_spec: dict) -> None:
        before = self.backend.get("Deployment", name)["spec"]["template"]
        after = self.backend.patch("Deployment", name, {"spec": {"template": {"spec": pod_spec}}})
        if after["spec"]["template"] != before:
            self._rollout_started[name] = self.now()
        self._notes()

    def scale(self, name: str, replicas: int) -> None:
        _args.name("scale", name)
        replicas = _args.whole("scale", "replicas", replicas, low=0, high=_args.MAX_REPLICAS,
                               what="the kit's limit; 0 stops every pod")
        self._say(f"scale deployment/{name} --replicas={replicas}")
        self.backend.scale(name, replicas)

    def rollout_undo(self, name: str, to_revision: Optional[int] = None) -> int:
        _args.name("rollout_undo", name)
        if to_revision is not None:
            to_revision = _args.whole("rollout_undo", "to_revision", to_revision, low=0,
                                      high=_args.MAX_REVISION, what="0 means the previous one")
        flag = f" --to-revision={to_revision}" if to_revision else ""
        self._say(f"rollout undo deployment/{name}{flag}")
        revision = self.backend.rollout_undo(name, to_revision)
        self._rollout_started[name] = self.now()
        self._notes()
        return revision

    def rollout_pause(self, name: str) -> None:
        _args.name("rollout_pause", name)
        self._say(f"rollout pause deployment/{name}")
        if (self.backend.get("Deployment", name).get("spec") or {}).get("paused"):
            # kubectl's ObjectPauserFn (polymorphichelpers/objectpauser.go) refuses, and
            # `kubectl rollout pause` prints: error: deployments.apps "web" is already paused
            raise UsageError(f'deployments.apps "{name}" is already paused')
        self.backend.patch("Deployment", name, {"spec": {"paused": True}})

    def rollout_resume(self, name: str) -> None:
        _args.name("rollout_resume", name)
        self._say(f"rollout resume deployment/{name}")
        if not (self.backend.get("Deployment", name).get("spec") or {}).get("paused"):
            # kubectl's ObjectResumerFn (polymorphichelpers/objectresumer.go): "is not paused"
            raise UsageError(f'deployments.apps "{name}" is not paused')
        self.backend.patch("Deployment", name, {"spec": {"paused": False}})

    def rollout_history(self, name: str) -> RevisionList:
        """Revisions of a Deployment, oldest first: revision, image, replicas now, change cause.

        Printed, it is what ``kubectl rollout history`` prints."""
        _args.name("rollout_history", name)
        self._say(f"rollout history deployment/{name}")
        self.backend.get("Deployment", name)
        rows = []
        for rs in self.backend.list("ReplicaSet"):
            owners = rs["metadata"].get("ownerReferences") or []
            if not any(o.get("name") == name for o in owners):
                continue
            containers = rs["spec"]["template"]["spec"]["containers"]
            annotations = rs["metadata"].get("annotations") or {}
            rows.append({"revision": int(annotations.get(r.REVISION_ANNOTATION, 0)),
                         "replicaset": rs["metadata"]["name"], "image": containers[0]["image"],
                         "replicas": rs["spec"]["replicas"],
                         "change_cause": annotations.get("kubernetes.io/change-cause")})
        return RevisionList(name, rows)

    # -- waiting -------------------------------------------------------------------------------
    def wait(self, seconds: float) -> None:
        """Let the cluster run for ``seconds`` (virtual on the simulator), at most an hour a call."""
        seconds = _args.seconds("wait", "seconds", seconds,
                                why=" per call (call it again to wait longer)")
        self.backend.wait(None, seconds)

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        if not callable(condition):
            raise UsageError(f"wait_until(condition={condition!r}): pass a function that returns "
                             "True when the wait is over, e.g. lambda: lab.now() > 10")
        timeout = _args.seconds("wait_until", "timeout", timeout)
        if not self.backend.wait(condition, timeout):
            raise WaitTimeout(f"{what} did not happen within {timeout:g} s")

    def wait_available(self, name: str, timeout: float = 300.0) -> None:
        """Until Deployment ``name`` is rolled out and available, then until kube-proxy has it.

        "Available" as ``kubectl rollout status`` judges it
        (:func:`releaselab.rollout.rollout_status`): the controller has seen the
        latest spec (observedGeneration), and updated = replicas = available — so
        a Deployment in the middle of a rollout, whose old pods still count as
        available, is waited for rather than accepted.  A Deployment past its
        progress deadline raises WaitTimeout at once, as kubectl exits 1.
        """
        _args.name("wait_available", name)
        timeout = _args.seconds("wait_available", "timeout", timeout)
        self.backend.get("Deployment", name)
        self._say(f"rollout status deployment/{name} --timeout={timeout:g}s")
        state = {}

        def rolled_out() -> bool:
            message, done, failed = r.rollout_status(self.backend.get("Deployment", name))
            state.update(message=message, failed=failed)
            return done or failed

        self.wait_until(rolled_out, timeout, f'deployment "{name}" becoming available')
        if state.get("failed"):
            raise WaitTimeout(f"{state['message']}: it never became available; lab.pods() shows "
                              "why (ErrImagePull, CrashLoopBackOff, not Ready ...)")
        self.backend.wait(None, ENDPOINTS_SETTLE_S)

    def wait_rollout(self, name: str, timeout: Optional[float] = None) -> RolloutResult:
        """Like ``kubectl rollout status``: until complete or ProgressDeadlineExceeded.

        As with kubectl, a slow rollout that keeps progressing is waited for;
        a stuck one ends when its progress deadline passes.  ``timeout`` only
        guards against waiting forever (a paused Deployment); default 3600 s."""
        _args.name("wait_rollout", name)
        timeout = _args.seconds("wait_rollout", "timeout", 3600.0 if timeout is None else timeout)
        self._say(f"rollout status deployment/{name} --timeout={timeout:g}s")
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
        """Until no pod of Deployment ``name`` is terminating (old pods finished shutting down).

        The twin waits for the pods of the old ReplicaSets only, by their
        ``pod-template-hash`` (see :func:`._kubectl.old_pods_selector`)."""
        _args.name("wait_settled", name)
        timeout = _args.seconds("wait_settled", "timeout", timeout)
        deployment = self.backend.get("Deployment", name)
        owned = [rs for rs in self.backend.list("ReplicaSet")
                 if any(o.get("name") == name for o in rs["metadata"].get("ownerReferences") or [])]
        self._say(f"wait --for=delete pod -l {old_pods_selector(deployment, owned)} "
                  f"--timeout={timeout:g}s")

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
                timeout_s: float = 1.0, users: int = 0, workload: str = "shop") -> TrafficRun:
        """Open-loop clients against Service ``target`` (or ``"gateway/<name>"``).

        ``rps``: requests per second, more than 0 and at most 1,000; ``timeout_s``:
        how long a client waits for an answer, more than 0 and at most 60 s.
        ``users=N``: the requests are N users taking turns, each with its own
        session cookie and orders (``workload``: ``"sessions"``, ``"orders"`` or
        ``"shop"``, both; see :mod:`releaselab.workload`); 0 sends ``GET /``."""
        from .workload import check_users

        rps = _args.rate("traffic", rps)
        _args.text("traffic", "target", target, "'web' or 'gateway/web'")
        _args.flag("traffic", "poisson", poisson)
        timeout_s = _args.seconds("traffic", "timeout_s", timeout_s, low_open=True,
                                  high=_args.MAX_CLIENT_TIMEOUT_S)
        check_users(users, workload)
        return TrafficRun(self, target, rps, poisson, timeout_s, users, workload)

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
        timeout = _args.seconds("reset", "timeout", timeout)
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
            self._say(f"wait --for=delete pod -l {selector_text(labels)} --timeout={timeout:g}s")
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




def _check_lab_arguments(seed, echo, workers, node_cpu, node_memory, context) -> None:
    """Lab(...)'s own arguments, checked before a backend is made."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"Lab(seed={seed!r}): the seed must be a whole number, e.g. Lab(seed=1)")
    _args.flag("Lab", "echo", echo)
    _args.whole("Lab", "workers", workers, low=1, high=_args.MAX_WORKERS,
                what="worker nodes of the simulator")
    for param, value, parse, example in (("node_cpu", node_cpu, manifests.parse_cpu, "'4'"),
                                         ("node_memory", node_memory, manifests.parse_memory,
                                          "'8Gi'")):
        try:
            amount = parse(value) if isinstance(value, (str, int)) and \
                not isinstance(value, bool) else None
        except (ManifestError, ValueError, OverflowError):
            amount = None
        if amount is None or amount <= 0:
            raise UsageError(f"Lab({param}={value!r}): must be a Kubernetes quantity more than 0, "
                             f"e.g. {param}={example}")
    if context is not None:
        _args.text("Lab", "context", context, "'kind-releaselab'")
