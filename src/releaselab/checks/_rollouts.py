"""Lab 01's rollouts: the manifest helper, the simulated rollout and the bad release.

Shared by lab 01's checkers (:mod:`releaselab.checks.rolling`, which re-exports
everything here), the rolling chapter and the ``explore_rolling`` widget.

``rolling_manifest(replicas=4, max_surge=1, ...)``
    ``rolling/web.yaml`` as dicts, with the fields a rolling update is tuned by changed;
``simulate_rollout(manifest, image=..., seed=..., rps=...)``
    on the simulator: apply it, wait until available, roll out under traffic;
    returns a :class:`Rollout` (the Lab, the traffic run, the result and summary);
``bad_release(seed)``
    exercise 4's starting point on the reader's backend: a fresh Lab (reset)
    on which 3.1-bad was rolled out under traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .. import manifests
from ..errors import ManifestError
from ..lab import Lab, RolloutResult, TrafficRun
from ..report import Summary

WEB = "rolling/web.yaml"            # the chat application 3.0: 4 replicas, readiness probe
NO_PROBE = "rolling/no-probe.yaml"  # the same without a readiness probe, 3 s to start
OLD_IMAGE = "releaselab/web:3.0"
NEW_IMAGE = "releaselab/web:3.1"
BAD_IMAGE = "releaselab/web:3.1-bad"   # answers 30 % of requests with 500
BAD_VERSION = "3.1-bad"
SEEDS = (0, 1, 2)                   # a claim about "never" is checked on each of these
RPS = 50
#: Virtual seconds a checker lets a rollout run before giving up.  Generous on
#: purpose: ``Lab.wait_rollout``'s default (progressDeadlineSeconds + 60 s in
#: total) can end a slow rollout that is still progressing.
ROLLOUT_TIMEOUT_S = 3600.0
#: Seconds between "available" and the rollout (longer than any STARTUP_SECONDS the labs use).
SETTLE_S = 5.0

def rolling_manifest(replicas: int = 4, max_surge: Any = 1, max_unavailable: Any = 0,
                     startup_seconds: Optional[float] = None, min_ready_seconds: int = 0,
                     strategy: str = "RollingUpdate", source: Any = WEB) -> list[dict]:
    """``rolling/web.yaml`` (or ``source``) as dicts, with the rolling-update fields changed.

    ``startup_seconds`` sets the app's STARTUP_SECONDS (None keeps the file's);
    ``strategy="Recreate"`` drops maxSurge/maxUnavailable, as the API demands.
    Nothing is validated here: ``Lab.apply`` does that, with the API server's words.
    """
    docs = manifests.load(source)
    deployment = _deployment_of(docs)
    if deployment is None or _container(deployment) is None:
        raise ManifestError("the manifest has no Deployment with a container; give the "
                            "Deployment (and optionally its Service)")
    spec = deployment["spec"]
    spec["replicas"] = replicas
    spec["minReadySeconds"] = min_ready_seconds
    if strategy == "Recreate":
        spec["strategy"] = {"type": "Recreate"}
    else:
        spec["strategy"] = {"type": strategy,
                            "rollingUpdate": {"maxSurge": max_surge,
                                              "maxUnavailable": max_unavailable}}
    if startup_seconds is not None:
        _set_env(_container(deployment), "STARTUP_SECONDS", _env_value(startup_seconds))
    return docs


@dataclass
class Rollout:
    """One simulated rollout under traffic: what a checker (or the widget) measures."""

    lab: Lab
    run: TrafficRun
    result: RolloutResult
    summary: Summary
    replicas: int

    @property
    def seconds(self) -> float:
        """From the change to ``kubectl rollout status`` saying done (or giving up)."""
        return self.result.seconds

    @property
    def complete(self) -> bool:
        return self.result.complete

    @property
    def min_ready(self) -> int:
        return self.summary.min_ready

    @property
    def failed(self) -> int:
        return self.summary.failed

    @property
    def waves(self) -> int:
        return self.summary.waves


def simulate_rollout(manifest: Any = WEB, image: str = NEW_IMAGE, seed: int = 0,
                     rps: float = RPS, name: Optional[str] = None,
                     timeout: float = ROLLOUT_TIMEOUT_S, settle: float = SETTLE_S) -> Rollout:
    """On the simulator: apply ``manifest``, wait until available (and ``settle`` s more), then
    change the image under traffic.

    Always ``Lab("sim")``, whatever ``RELEASELAB_BACKEND`` says: checkers and the
    widget simulate an answer; they never touch the reader's cluster.  The
    extra ``settle`` seconds let an app that starts slower than Kubernetes
    believes (no readiness probe) really listen before the rollout begins, so
    the run measures the rollout alone.  Traffic runs from the change until
    every old pod is gone (``wait_settled``), so the summary covers the whole
    window in which requests can fail.  Raises ManifestError for a manifest
    the API server would reject, WaitTimeout when it never becomes available.
    """
    docs = manifests.load(manifest)
    deployment = _deployment_of(docs)
    if deployment is None:
        raise ManifestError("the manifest has no Deployment; give the Deployment (and "
                            "optionally its Service)")
    name = name or deployment["metadata"]["name"]
    lab = Lab("sim", echo=False, seed=seed)
    lab.apply(docs)
    lab.wait_available(name)
    lab.wait(settle)
    with lab.traffic(rps=rps, target=_service_name(docs, name)) as run:
        lab.set_image(name, image)
        result = lab.wait_rollout(name, timeout=timeout)
        if result.complete:
            lab.wait_settled(name)
    return Rollout(lab, run, result, run.summary(deployment=name), deployment["spec"]["replicas"])


def bad_release(seed: int = 4, rps: float = RPS, echo: bool = True,
                backend: Optional[str] = None) -> Lab:
    """Exercise 4's starting point: a fresh Lab on which 3.1-bad was rolled out under traffic.

    The reader's own run, so on the backend ``RELEASELAB_BACKEND`` names (on
    kind it first deletes what an earlier run left, :meth:`Lab.reset`): it does,
    quietly, what the lab's "roll out 3.1-bad" cell does, so a rollback cell that
    starts with it gives the same verdict however often it is re-run.  The Lab
    returned prints its kubectl lines from then on (``echo``).  ``backend``
    names another backend than the environment's (tests use ``"sim"``).
    """
    lab = Lab(backend, seed=seed, echo=False)
    lab.reset()
    lab.apply(WEB)
    lab.wait_available("web")
    with lab.traffic(rps=rps):
        lab.set_image("web", BAD_IMAGE)
        lab.wait_rollout("web")
        lab.wait_settled("web")
    lab.echo = echo
    return lab


# ---------------------------------------------------------------------------- internals

def _deployment_of(docs: list) -> Optional[dict]:
    return next((d for d in docs if isinstance(d, dict) and d.get("kind") == "Deployment"), None)


def _container(deployment: Any) -> Optional[dict]:
    """The first container of a Deployment's pod template, or None if the shape is wrong."""
    try:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
    except (KeyError, IndexError, TypeError):
        return None
    return container if isinstance(container, dict) else None


def _service_name(docs: list, fallback: str) -> str:
    services = [d["metadata"]["name"] for d in docs if d.get("kind") == "Service"]
    return services[0] if services else fallback


def _env(container: dict, name: str) -> Optional[str]:
    env = container.get("env")
    for var in env if isinstance(env, list) else []:
        if isinstance(var, dict) and var.get("name") == name:
            return var.get("value")
    return None


def _set_env(container: dict, name: str, value: str) -> None:
    env = container.setdefault("env", [])
    for var in env:
        if var.get("name") == name:
            var.clear()
            var.update({"name": name, "value": value})
            return
    env.append({"name": name, "value": value})


def _env_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
