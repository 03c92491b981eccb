"""Checkers for lab 01, the rolling update (the chat application 3.0 → 3.1).

Every checker judges behaviour, never a stored answer: it builds the
reader's configuration, runs it on the simulator (``Lab(echo=False,
seed=...)``, several seeds wherever the claim is "never"), and measures what
happened — ready pods, failed requests, waves, seconds — or it reads the
Timeline the reader produced.  A wrong answer is told why, with the numbers.

The two helpers the lab, the chapter and the widget share:

``rolling_manifest(replicas=4, max_surge=1, ...)``
    ``rolling/web.yaml`` as dicts, with the fields a rolling update is tuned by
    changed;
``simulate_rollout(manifest, image=..., seed=..., rps=...)``
    apply it, wait until available, roll out under traffic; returns a
    :class:`Rollout` (the Lab, the traffic run, the rollout's result and summary).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from .. import manifests
from .. import rollout as r
from ..errors import ManifestError, ReleaseLabError
from ..lab import Lab, RolloutResult, TrafficRun
from ..report import Summary
from ._core import Verdict, failed, missing, passed, unanswered

__all__ = [
    "WEB", "NO_PROBE", "OLD_IMAGE", "NEW_IMAGE", "BAD_IMAGE", "SEEDS", "PREDICTION",
    "Rollout", "rolling_manifest", "simulate_rollout",
    "check_full_capacity", "check_prediction", "check_readiness_fix", "check_rollback",
]

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

#: Exercise 2's settings: predict the waves and the seconds of this rollout.
PREDICTION = {"replicas": 6, "max_surge": 2, "max_unavailable": 0, "startup_seconds": 2,
              "min_ready_seconds": 2}
#: How far a predicted duration may be from the measured one: 15 %, at least 1 s.
PREDICTION_TOLERANCE = 0.15
PREDICTION_TOLERANCE_MIN_S = 1.0
#: Exercise 4: traffic after the rollback that must all succeed.
AFTER_ROLLBACK_MIN_REQUESTS = 100


# ---------------------------------------------------------------------------- helpers

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
    """Apply ``manifest``, wait until available (and ``settle`` s more), then change the image
    under traffic.

    The extra ``settle`` seconds let an app that starts slower than Kubernetes
    believes (no readiness probe) really listen before the rollout begins, so
    the run measures the rollout alone.  Traffic runs from the change until
    every old pod is gone (``wait_settled``), so the summary covers the whole
    window in which requests can fail.  Raises ManifestError for a manifest
    the API server would reject.
    """
    docs = manifests.load(manifest)
    deployment = _deployment_of(docs)
    name = name or deployment["metadata"]["name"]
    lab = Lab(echo=False, seed=seed)
    lab.apply(docs)
    lab.wait_available(name)
    lab.wait(settle)
    with lab.traffic(rps=rps, target=_service_name(docs, name)) as run:
        lab.set_image(name, image)
        result = lab.wait_rollout(name, timeout=timeout)
        if result.complete:
            lab.wait_settled(name)
    return Rollout(lab, run, result, run.summary(deployment=name), deployment["spec"]["replicas"])


# ---------------------------------------------------------------------------- exercise 1

def check_full_capacity(max_surge: Any, max_unavailable: Any, replicas: int = 4) -> Verdict:
    """Exercise 1: a rollout of ``replicas`` pods that never has fewer than ``replicas`` ready.

    Simulates the reader's maxSurge/maxUnavailable on every seed in SEEDS and
    checks the measured minimum of ready pods and that the rollout completes.
    """
    if unanswered(max_surge, max_unavailable):
        return missing("set max_surge and max_unavailable (whole numbers such as 1, or "
                       "percentages such as '25%'), then run this cell again")
    shown = f"maxSurge={max_surge!r}, maxUnavailable={max_unavailable!r}"
    try:
        surge, unavailable = r.resolve_fenceposts(max_surge, max_unavailable, replicas)
        runs = [simulate_rollout(rolling_manifest(replicas, max_surge, max_unavailable), seed=s)
                for s in SEEDS]
    except ManifestError as exc:
        return failed(f"{shown}: Kubernetes rejects this Deployment — {exc}")
    resolved = (f"{shown} of {replicas} replicas resolve to {surge} extra and {unavailable} "
                "unavailable pod(s)")
    stuck = [run for run in runs if not run.complete]
    if stuck:
        return failed(f"{resolved}, but the rollout did not complete ({stuck[0].result.status} "
                      f"after {stuck[0].seconds:g} s)")
    worst = min(runs, key=lambda run: run.min_ready)
    low = worst.min_ready
    if low < replicas:
        lost = round(100 * (replicas - low) / replicas)
        serve = f"only {low} pod serves" if low == 1 else f"only {low} pods serve"
        why = _why_capacity_drops(max_surge, max_unavailable, surge, unavailable, replicas)
        return failed(f"with {_as_of(max_unavailable, unavailable, replicas)}, {serve} during "
                      f"the rollout — {lost} % of capacity is gone. {why}")
    peak = max(run.summary.peak_pods for run in runs)
    seconds = max(run.seconds for run in runs)
    return passed(f"{shown}: ready pods never dropped below {replicas} (measured on seeds "
                  f"{_seeds()}); the price is surge: up to {replicas + surge} pods in the "
                  f"ReplicaSets' spec ({peak} at the peak, counting old pods still shutting "
                  f"down), and the rollout took {seconds:g} s")


def _as_of(value: Any, resolved: int, replicas: int) -> str:
    if isinstance(value, str):
        return f"maxUnavailable={value!r} (= {resolved} of {replicas} replicas, rounded down)"
    return f"maxUnavailable={value} of {replicas} replicas"


def _why_capacity_drops(max_surge: Any, max_unavailable: Any, surge: int, unavailable: int,
                        replicas: int) -> str:
    if unavailable > 0 and r.int_or_percent(max_unavailable, replicas, round_up=False) == 0:
        return (f"maxSurge={max_surge!r} and maxUnavailable={max_unavailable!r} both resolve "
                f"to 0 pods, and a rollout that may neither add nor remove a pod could never "
                "move, so the controller uses maxUnavailable=1: it deletes an old pod before "
                "its replacement is ready. Give maxSurge at least 1 pod instead.")
    return (f"The controller may delete {unavailable} old pod(s) before any replacement is "
            "ready; to keep every replica serving, set maxUnavailable to 0 and let maxSurge "
            "(at least 1) add the new pods first.")


# ---------------------------------------------------------------------------- exercise 2

def check_prediction(waves: Any, seconds: Any, **settings: Any) -> Verdict:
    """Exercise 2: predicted waves and rollout seconds against a measured run.

    ``settings`` are :data:`PREDICTION` unless given (the keyword arguments of
    :func:`rolling_manifest`).  Waves must match exactly; seconds within 15 %
    (at least 1 s) of ``wait_rollout``'s measured duration.
    """
    if unanswered(waves, seconds):
        return missing("set predicted_waves (a whole number) and predicted_seconds (the "
                       "rollout's duration in seconds), then run this cell again")
    if isinstance(waves, bool) or not isinstance(waves, int) or waves < 1:
        return failed(f"predicted_waves={waves!r}: the number of waves is a whole number of "
                      "scale-ups of the new ReplicaSet, at least 1")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        return failed(f"predicted_seconds={seconds!r}: give the duration as a number of "
                      "seconds, e.g. 12.5")
    config = {**PREDICTION, **settings}
    run = simulate_rollout(rolling_manifest(**config), seed=SEEDS[0])
    replicas = config["replicas"]
    surge, unavailable = r.resolve_fenceposts(config["max_surge"], config["max_unavailable"],
                                              replicas)
    per_wave = run.seconds / run.waves if run.waves else run.seconds
    tolerance = max(PREDICTION_TOLERANCE * run.seconds, PREDICTION_TOLERANCE_MIN_S)
    problems = []
    if waves != run.waves:
        if unavailable == 0 and surge > 0:
            rule = (f"with maxUnavailable=0 the new ReplicaSet grows by maxSurge={surge} "
                    f"pod(s) at a time, so waves = ceil({replicas} / {surge}) = "
                    f"{math.ceil(replicas / surge)}")
        else:
            rule = ("with maxUnavailable > 0 the new ReplicaSet also grows whenever old pods "
                    "are deleted, so count its scale-up steps in the rs_steps table")
        problems.append(f"you predicted {waves} wave(s), the run had {run.waves}: {rule}")
    if abs(seconds - run.seconds) > tolerance:
        problems.append(
            f"you predicted {seconds:g} s, the rollout took {run.seconds:g} s (accepted: "
            f"{run.seconds - tolerance:.1f}–{run.seconds + tolerance:.1f} s): "
            + _wave_arithmetic(config, run.waves, per_wave))
    if problems:
        return failed("; ".join(problems))
    return passed(f"{run.waves} waves in {run.seconds:g} s measured (you said {waves} and "
                  f"{seconds:g} s): {_wave_arithmetic(config, run.waves, per_wave)}")


def _wave_arithmetic(config: dict, waves: int, per_wave: float) -> str:
    startup = config.get("startup_seconds")
    startup = 2 if startup is None else startup
    period = 1    # rolling/web.yaml's readinessProbe.periodSeconds
    ready = math.ceil(0.7 + startup)
    min_ready = config.get("min_ready_seconds", 0)
    extra = f" + minReadySeconds {min_ready} s" if min_ready else ""
    return (f"waves = {waves}; each wave waits until its new pods are available — about "
            f"0.7 s to start the container, then STARTUP_SECONDS={startup:g} s until the app "
            f"listens, seen at the next readiness probe (every {period} s): ready ≈ {ready} s "
            f"after the wave began{extra}, plus ~0.2 s for the controllers to notice, so "
            f"≈ {ready + min_ready + 0.2:.1f} s per wave; measured {per_wave:.2f} s per wave "
            f"× {waves} waves")


# ---------------------------------------------------------------------------- exercise 3

def check_readiness_fix(manifest: Any) -> Verdict:
    """Exercise 3: the reader's fix of ``rolling/no-probe.yaml`` rolls out with 0 failed requests.

    ``manifest``: anything ``Lab.apply`` takes (path, YAML text, dict, list).
    The app must still need 3 s to start (the fix is in the Deployment, not
    the app); a Service is taken from no-probe.yaml if the manifest has none.
    Every seed in SEEDS must complete with zero failed requests.
    """
    if unanswered(manifest):
        return missing("set fixed to your corrected manifest (e.g. load rolling/no-probe.yaml "
                       "and change it), then run this cell again")
    try:
        docs = manifests.load(manifest)
        deployment = _deployment_of(docs)
    except ReleaseLabError as exc:
        return failed(f"this is not a manifest the lab can apply: {exc}")
    if not any(d.get("kind") == "Service" for d in docs):
        docs += [d for d in manifests.load(NO_PROBE) if d.get("kind") == "Service"]
    container = _container(deployment)
    startup = _env(container, "STARTUP_SECONDS")
    if startup is None or _as_float(startup) is None or _as_float(startup) < 3:
        return failed(f"this changes the application, not the Deployment: STARTUP_SECONDS is "
                      f"{startup!r} (the image's default is 1) but the chat application really "
                      "needs 3 s before it listens — keep STARTUP_SECONDS \"3\" and tell "
                      "Kubernetes when the pod can serve")
    wrong = _probe_problems(container)
    if wrong:
        return failed(wrong)
    if container.get("image") != OLD_IMAGE:
        return failed(f"start from {OLD_IMAGE} (the image is {container.get('image')!r}); the "
                      f"check rolls it out to {NEW_IMAGE}")
    try:
        runs = [simulate_rollout(docs, seed=s, timeout=deployment["spec"].get(
            "progressDeadlineSeconds", 600) + 120.0) for s in SEEDS]
    except ManifestError as exc:
        return failed(f"Kubernetes rejects this manifest — {exc}")
    except ReleaseLabError as exc:
        return failed(f"the rollout could not be run: {exc}")
    stuck = [run for run in runs if not run.complete]
    if stuck:
        return failed(f"the rollout to 3.1 did not complete ({stuck[0].result.status} after "
                      f"{stuck[0].seconds:g} s): the new pods never became ready — check the "
                      "probe's path and port (the app answers GET /readyz on port 8080, "
                      "named 'http')")
    bad = [run for run in runs if run.failed]
    if bad:
        sent = sum(run.summary.sent for run in runs)
        lost = sum(run.failed for run in runs)
        causes = _causes(runs)
        return failed(f"{lost} of {sent} requests still failed ({causes}) over seeds "
                      f"{_seeds()}. {_why_requests_fail(deployment, container)}")
    sent = sum(run.summary.sent for run in runs)
    seconds = max(run.seconds for run in runs)
    return passed(f"0 of {sent} requests failed over seeds {_seeds()}: each new pod gets "
                  f"traffic only once it answers, and the rollout took {seconds:g} s — longer "
                  "than without the fix, because the controller now waits for pods that can "
                  "really serve")


#: What the demo app answers (cluster/app/README.md) and where it listens.
APP_PATHS = ("/", "/healthz", "/readyz")
APP_PORTS = (8080, "http")


def _probe_problems(container: dict) -> Optional[str]:
    """A probe the real app would fail (unknown path, wrong port).

    Checked here because the simulator does not model an httpGet probe's path
    or port (reported in the lab kit's simulator notes); on a real cluster such a
    probe never succeeds and the rollout stalls.
    """
    for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
        probe = container.get(kind) or {}
        http = probe.get("httpGet")
        tcp = probe.get("tcpSocket")
        if http is not None:
            path = str(http.get("path", "/")).split("?")[0]
            if path not in APP_PATHS:
                return (f"{kind}.httpGet.path {path!r}: the chat application answers 404 there, "
                        f"so on a real cluster the probe never succeeds and the rollout stalls; "
                        f"its endpoints are {', '.join(APP_PATHS)} (readiness: /readyz)")
        port = (http or tcp or {}).get("port")
        if (http is not None or tcp is not None) and port not in APP_PORTS:
            return (f"{kind} port {port!r}: the app listens on 8080 (the container port named "
                    "'http'); a probe elsewhere is refused and the pod never becomes ready")
    return None


def _why_requests_fail(deployment: dict, container: dict) -> str:
    if not container.get("readinessProbe") and not container.get("startupProbe"):
        why = ("The container still has no readiness probe: the kubelet reports the pod Ready "
               "as soon as its container runs, the Service sends it requests ~0.3 s later, "
               "and the app listens only 3 s after starting — everything in between is "
               "refused.")
        if deployment["spec"].get("minReadySeconds"):
            why += (" minReadySeconds does not help: it only delays when the Deployment counts "
                    "a Ready pod as available; the Service routes to it as soon as it is Ready.")
        return why + " Add a readinessProbe (httpGet /readyz on port http)."
    return ("Look at the failures' causes and times in your run's plot: 'refused' while a new "
            "pod starts means traffic reached it before it listened; failures when old pods "
            "stop mean the shutdown is not graceful (keep web.yaml's preStop sleep).")


# ---------------------------------------------------------------------------- exercise 4

def check_rollback(lab: Any, run: Any) -> Verdict:
    """Exercise 4: the reader rolled out 3.1-bad, saw its 500s, and rolled back to zero errors.

    Reads only the reader's Timeline: the bad version must have answered
    with 500 somewhere; no pod of it may be left; and in ``run`` (the
    traffic block around the rollback), every request sent after the last
    3.1-bad pod went away must have succeeded — at least
    AFTER_ROLLBACK_MIN_REQUESTS of them.
    """
    if unanswered(lab, run):
        return missing("roll out 3.1-bad under traffic, then roll back inside "
                       "`with lab4.traffic(...) as rollback_run:` and pass lab4 and rollback_run")
    timeline = lab.timeline
    bad_500 = [q for q in timeline.requests if q.status == 500 and _version(timeline, q) ==
               BAD_VERSION]
    if not bad_500:
        return failed(f"no request was answered by {BAD_IMAGE} with a 500: roll out the bad "
                      "version under traffic first (the cell above), so there is something "
                      "to roll back from")
    image = _container(lab.get("Deployment", "web"))["image"]
    window = [s for s in timeline.rs_steps if run.start <= s.t
              and (run.end is None or s.t <= run.end)]
    if image == BAD_IMAGE and not window:
        return missing(f"the Deployment still runs {BAD_IMAGE}: inside the `with` block, roll "
                       "it back (lab4.rollout_undo('web')) and wait until the rollout is done "
                       "and the old pods are gone")
    if image == BAD_IMAGE:
        return failed(f"the Deployment's image is still {BAD_IMAGE}: a rollback puts the "
                      "previous revision's pod template back (lab4.rollout_undo('web'))")
    bad_pods = [p for p in timeline.pods_of("web") if p.version == BAD_VERSION]
    alive = [p.name for p in bad_pods if p.gone is None]
    if alive:
        return failed(f"{len(alive)} pod(s) of {BAD_VERSION} still exist ({', '.join(alive)}): "
                      "wait for the rollback (lab4.wait_rollout('web')) and for the old pods "
                      "to finish (lab4.wait_settled('web')) inside the traffic block")
    clean = max(p.gone for p in bad_pods)
    after = [q for q in run.requests if q.t >= clean]
    if len(after) < AFTER_ROLLBACK_MIN_REQUESTS:
        return failed(f"only {len(after)} request(s) were sent after the last {BAD_VERSION} "
                      f"pod went away (t={clean:.1f} s): keep the traffic running a few seconds "
                      "longer (lab4.wait(5) inside the block) so there is something to judge")
    lost = [q for q in after if not q.ok]
    if lost:
        causes = ", ".join(f"{c} {n}" for c, n in sorted(_count(q.cause for q in lost).items()))
        return failed(f"{len(lost)} of {len(after)} requests after the rollback still failed "
                      f"({causes}), the first at t={lost[0].t:.2f} s")
    during = [q for q in run.requests if q.t < clean and not q.ok]
    start = window[0].t if window else run.start
    return passed(f"rolled back to {image}: {len(after)} requests after the last "
                  f"{BAD_VERSION} pod went away, 0 failed. The rollback itself took "
                  f"{clean - start:.1f} s from its first ReplicaSet step to the last bad pod "
                  f"gone, and {len(during)} request(s) still failed during it — a rolling "
                  "rollback replaces pods as slowly as the rollout did")


# ---------------------------------------------------------------------------- internals

def _deployment_of(docs: list[dict]) -> dict:
    found = [d for d in docs if d.get("kind") == "Deployment"]
    if not found:
        raise ManifestError("the manifest has no Deployment; give the Deployment (and "
                            "optionally its Service)")
    return found[0]


def _service_name(docs: list[dict], fallback: str) -> str:
    services = [d["metadata"]["name"] for d in docs if d.get("kind") == "Service"]
    return services[0] if services else fallback


def _container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict, name: str) -> Optional[str]:
    for var in container.get("env") or []:
        if var.get("name") == name:
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


def _as_float(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _version(timeline, request) -> Optional[str]:
    if request.version is not None:
        return request.version
    record = timeline.pod(request.pod) if request.pod else None
    return record.version if record else None


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _causes(runs: list[Rollout]) -> str:
    total: dict = {}
    for run in runs:
        for cause, n in run.summary.by_cause.items():
            total[cause] = total.get(cause, 0) + n
    return ", ".join(f"{c} {n}" for c, n in sorted(total.items()))


def _seeds() -> str:
    return ", ".join(str(s) for s in SEEDS)

