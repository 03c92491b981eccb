"""Checkers for lab 01, the rolling update (the chat application 3.0 → 3.1).

Two kinds of checker, and each docstring says which it is:

* **simulates the answer** (exercises 1–3): it builds the reader's
  configuration and runs it on the simulator — ``Lab("sim", ...)``, whatever
  ``RELEASELAB_BACKEND`` says, several seeds wherever the claim is "never" —
  and measures ready pods, failed requests, waves, seconds;
* **reads the reader's run** (exercise 4): it judges the Lab and TrafficRun
  the reader produced, on whichever backend they used.

The helpers the lab, the chapter and the widget share — ``rolling_manifest``,
``simulate_rollout``, ``bad_release`` and the :class:`Rollout` they return —
live in :mod:`releaselab.checks._rollouts` and are importable from here.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Optional

from .. import manifests
from .. import rollout as r
from ..errors import ManifestError, NotFoundError, WaitTimeout
from ..kube._watch import image_tag      # "releaselab/web:3.1" → "3.1", as the watch reads it
from ..lab import Lab, TrafficRun
from . import _runs
from ._rollouts import (BAD_IMAGE, BAD_VERSION, NEW_IMAGE, NO_PROBE, OLD_IMAGE, ROLLOUT_TIMEOUT_S,
                        RPS, SEEDS, SETTLE_S, WEB, Rollout, _container, _deployment_of,
                        _env, bad_release, rolling_manifest, simulate_rollout)
from ._core import (Verdict, describe, exercise, failed, is_number, load_answer, missing,
                    passed, unanswered, whole)

__all__ = [
    "WEB", "NO_PROBE", "OLD_IMAGE", "NEW_IMAGE", "BAD_IMAGE", "BAD_VERSION", "SEEDS", "RPS",
    "ROLLOUT_TIMEOUT_S", "SETTLE_S", "PREDICTION",
    "Rollout", "rolling_manifest", "simulate_rollout", "bad_release",
    "check_full_capacity", "check_prediction", "check_readiness_fix", "check_rollback",
]

#: How long a manifest whose first pods never become available is watched for a diagnosis.
STALL_WATCH_S = 120.0

#: Exercise 2's settings: predict the waves and the seconds of this rollout.
PREDICTION = {"replicas": 6, "max_surge": 2, "max_unavailable": 0, "startup_seconds": 2,
              "min_ready_seconds": 2}
#: How far a predicted duration may be from the measured one: 15 %, at least 1 s.
PREDICTION_TOLERANCE = 0.15
PREDICTION_TOLERANCE_MIN_S = 1.0
#: Exercise 4: traffic after the rollback that must all succeed.
AFTER_ROLLBACK_MIN_REQUESTS = 100
#: What the demo app answers (cluster/app/README.md) and where it listens.
APP_PATHS = ("/", "/healthz", "/readyz")
APP_PORTS = (8080, "http")


# ---------------------------------------------------------------------------- exercise 1

def _int_or_percent(value: Any) -> Any:
    """A maxSurge/maxUnavailable answer as Kubernetes takes it, or None if it is neither.

    Whole floats (``1.0``) count as the integer they are.
    """
    if isinstance(value, str):
        return value
    number = whole(value)
    return None if number is None else number


HINT_01_1 = ('maxSurge says how many pods may exist above `replicas` during the rollout, '
             'maxUnavailable how many of the `replicas` may be out of service; start from '
             "web.yaml's own values")


@exercise("01.1", "never below full capacity", hint=HINT_01_1,
          fix="max_surge, max_unavailable = 1, 0: a new pod first, an old one out only once "
              "it is ready")
def check_full_capacity(max_surge: Any, max_unavailable: Any, replicas: int = 4) -> Verdict:
    """Exercise 1: a rollout of ``replicas`` pods that never has fewer than ``replicas`` ready.

    Simulates the answer (``Lab("sim")``, seeds SEEDS): the reader's
    maxSurge/maxUnavailable in web.yaml, rolled out under traffic; checks the
    measured minimum of ready pods and that the rollout completes.
    """
    if unanswered(max_surge, max_unavailable):
        return missing("set max_surge and max_unavailable (whole numbers such as 1, or "
                       "percentages such as '25%'), then run this cell again",
                       hint=HINT_01_1)
    for field_name, value in (("max_surge", max_surge), ("max_unavailable", max_unavailable)):
        if _int_or_percent(value) is None:
            return failed(f"{field_name}={describe(value)}: expected a whole number of pods "
                          "(such as 1) or a percentage of replicas as a string (such as '25%')")
    surge_in, unavailable_in = _int_or_percent(max_surge), _int_or_percent(max_unavailable)
    shown = f"maxSurge={surge_in!r}, maxUnavailable={unavailable_in!r}"
    try:
        # The API server's validation first (manifests.validate), so every refusal reads as
        # it does: 'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxSurge: …'.
        for doc in rolling_manifest(replicas, surge_in, unavailable_in):
            manifests.validate(doc)
        surge, unavailable = r.resolve_fenceposts(surge_in, unavailable_in, replicas)
        runs = [simulate_rollout(rolling_manifest(replicas, surge_in, unavailable_in), seed=s)
                for s in SEEDS]
    except ManifestError as exc:
        return failed(f"{shown}: Kubernetes rejects this Deployment — {exc}",
                      hint="the API server's message names the field and the rule it broke",
                      fix="use whole numbers >= 0 or percentages such as '25%', and not both 0")
    stuck = [run for run in runs if not run.complete]
    if stuck:
        return failed(f"{shown}: the rollout did not complete ({stuck[0].result.status} after "
                      f"{stuck[0].seconds:g} s)")
    worst = min(runs, key=lambda run: run.min_ready)
    low = worst.min_ready
    resolution = _resolution(surge_in, unavailable_in, surge, unavailable, replicas)
    if low < replicas:
        lost = round(100 * (replicas - low) / replicas)
        return failed(
            f"{shown}: ready pods fell to {low} of {replicas} during the rollout (the fewest "
            f"over seeds {_seeds()}) — {lost} % of capacity gone. {resolution}. That lets the "
            f"controller take {_runs.plural(unavailable, 'old pod')} out of service before "
            "a replacement is ready.",
            hint="one field lets the controller remove an old pod before its replacement is "
                 "ready, the other lets it add the replacement first: which one must be 0?",
            fix="maxUnavailable: 0 (no pod may be out of service) and maxSurge of at least 1 "
                "pod (1, or '25%' of 4): each old pod is then deleted only after a new one is "
                "ready")
    peak = max(run.summary.peak_pods for run in runs)
    spec = max(_runs.spec_peak(run.lab.timeline, "web", run.run.start) for run in runs)
    seconds = max(run.seconds for run in runs)
    capped = (f" — maxSurge allowed {replicas + surge}, but the new ReplicaSet never grows "
              f"past the {replicas} replicas" if spec < replicas + surge else "")
    return passed(f"{shown}: ready pods never dropped below {replicas} (seeds {_seeds()}). "
                  f"{resolution}. The price is surge: the ReplicaSets asked for up to {spec} "
                  f"pods at once{capped} ({peak} existed at the peak, counting old pods still "
                  f"shutting down), and the rollout took {seconds:g} s")


def _resolution(max_surge: Any, max_unavailable: Any, surge: int, unavailable: int,
                replicas: int) -> str:
    """How the two fields resolve to pods (``ResolveFenceposts``), in one consistent sentence.

    '10%' of 4 is 0.4, rounded down to 0; with maxSurge '0%' (0 pods) both are
    0, so the controller takes maxUnavailable as 1 — the sentence says exactly
    that, and never calls the 0 "1" or the 1 "0".
    """
    surge_text = _one(max_surge, replicas, "up")
    unavailable_raw = r.int_or_percent(max_unavailable, replicas, round_up=False)
    unavailable_text = _one(max_unavailable, replicas, "down")
    text = f"maxSurge {surge_text}, and maxUnavailable {unavailable_text}"
    if unavailable != unavailable_raw:
        text += (f"; both 0 would leave the rollout unable to move, so the controller takes "
                 f"maxUnavailable as {unavailable}")
    return "Here " + text


def _one(value: Any, replicas: int, direction: str) -> str:
    if isinstance(value, str):
        scaled = int(value[:-1]) * replicas / 100
        pods = math.ceil(scaled) if direction == "up" else math.floor(scaled)
        if scaled == pods:          # '25%' of 4 = 1 pod: nothing to round
            return f"{value!r} of {replicas} = {_runs.plural(pods, 'pod')}"
        return (f"{value!r} of {replicas} = {scaled:g}, rounded {direction} to "
                f"{_runs.plural(pods, 'pod')}")
    return f"= {_runs.plural(value, 'pod')}"


# ---------------------------------------------------------------------------- exercise 2

HINT_01_2 = ('a wave is one growth of the new ReplicaSet; with maxUnavailable 0 it adds at '
             'most maxSurge pods and waits until they are available')


@exercise("01.2", "predict, then measure", hint=HINT_01_2,
          fix="waves = ceil(replicas / maxSurge) = ceil(6 / 2) = 3; seconds ≈ waves × (a new "
              "pod's time to Ready + minReadySeconds); give both as numbers")
def check_prediction(waves: Any, seconds: Any, **settings: Any) -> Verdict:
    """Exercise 2: predicted waves and rollout seconds against a measured run.

    Simulates the answer's rollout (``Lab("sim")``, seed 0) with
    :data:`PREDICTION` (or ``settings``, :func:`rolling_manifest`'s keywords).
    Waves must match exactly (``3.0`` counts as 3); seconds within 15 % (at
    least 1 s) of ``wait_rollout``'s measured duration.
    """
    if unanswered(waves, seconds):
        return missing("set predicted_waves (a whole number) and predicted_seconds (the "
                       "rollout's duration in seconds), then run this cell again",
                       hint=HINT_01_2)
    n_waves = whole(waves)
    if n_waves is None or n_waves < 1:
        return failed(f"predicted_waves={describe(waves)}: expected a whole number of "
                      "scale-ups of the new ReplicaSet, at least 1")
    if not is_number(seconds) or seconds <= 0:
        return failed(f"predicted_seconds={describe(seconds)}: expected the duration as a "
                      "finite number of seconds > 0, e.g. 12.5")
    unknown = sorted(set(settings) - set(PREDICTION))
    if unknown:
        return failed(f"unknown setting(s) {', '.join(unknown)}: the settings are "
                      f"{', '.join(PREDICTION)}")
    config = {**PREDICTION, **settings}
    run = simulate_rollout(rolling_manifest(**config), seed=SEEDS[0])
    timeline = run.lab.timeline
    grew = _runs.growth_times(timeline, "web", run.run.start)
    per_wave = run.seconds / run.waves if run.waves else run.seconds
    to_ready = _runs.seconds_to_ready(_runs.pods_of_version(timeline, "web", "3.1"))
    min_ready = config["min_ready_seconds"]
    react = per_wave - (to_ready or 0) - min_ready
    tolerance = max(PREDICTION_TOLERANCE * run.seconds, PREDICTION_TOLERANCE_MIN_S)
    where = f"the new ReplicaSet grew at t = {', '.join(f'{t:g}' for t in grew)} s"
    each = f"{_runs.plural(run.waves, 'wave')} of {per_wave:.2f} s each ({run.seconds:g} s / {run.waves})"
    anatomy = (f"a new pod took {to_ready:.2f} s from its creation to Ready, minReadySeconds "
               f"added {min_ready:g} s, and the controllers took {max(react, 0):.2f} s more to "
               "act" if to_ready is not None else "no new pod became Ready")
    problems = []
    if n_waves != run.waves:
        problems.append(f"you predicted {_runs.plural(n_waves, 'wave')}, the run had {run.waves}: {where}")
    if abs(seconds - run.seconds) > tolerance:
        problems.append(f"you predicted {seconds:g} s, the rollout took {run.seconds:g} s "
                        f"(accepted: {run.seconds - tolerance:.1f}–{run.seconds + tolerance:.1f} "
                        f"s): {each}")
    if problems:
        replicas, surge = config["replicas"], config["max_surge"]
        count = (f"ceil(replicas / maxSurge) = ceil({replicas} / {surge}) = "
                 f"{math.ceil(replicas / surge)}" if isinstance(surge, int) and surge > 0
                 and config["max_unavailable"] == 0 else f"{run.waves} growth steps")
        return failed(
            "; ".join(problems),
            hint=("with maxUnavailable 0 each wave adds at most maxSurge new pods and waits "
                  f"until they are available; per wave in this run, {anatomy}"),
            fix=(f"waves = {count}; seconds ≈ waves × seconds per wave = {run.waves} × "
                 f"{per_wave:.2f} = {run.waves * per_wave:.1f}"))
    return passed(f"{_runs.plural(run.waves, 'wave')} in {run.seconds:g} s measured (you said {n_waves} and "
                  f"{seconds:g} s): {where}; per wave, {anatomy}")


# ---------------------------------------------------------------------------- exercise 3

HINT_01_3 = ('compare no-probe.yaml with web.yaml from Part 1: what does web.yaml tell '
             'Kubernetes that no-probe.yaml does not?')


@exercise("01.3", "the Deployment that drops requests", hint=HINT_01_3,
          fix="manifests.load('rolling/no-probe.yaml'), then add to its container: "
              "readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}")
def check_readiness_fix(manifest: Any) -> Verdict:
    """Exercise 3: the reader's fix of ``rolling/no-probe.yaml`` rolls out with 0 failed requests.

    Simulates the answer (``Lab("sim")``, seeds SEEDS).  ``manifest``: anything
    ``Lab.apply`` takes (path, YAML text, dict, list).  The app must still need
    3 s to start (the fix is in the Deployment, not the app); a Service is taken
    from no-probe.yaml if the manifest has none.
    """
    if unanswered(manifest):
        return missing("set fixed to your corrected manifest: load rolling/no-probe.yaml with "
                       "manifests.load(...), change the dicts, then run this cell again",
                       hint=HINT_01_3)
    docs, wrong = load_answer("fixed", manifest)
    if wrong is not None:
        return wrong
    deployment = _deployment_of(docs)
    container = _container(deployment) if deployment is not None else None
    if container is None:
        return failed("expected a Deployment with spec.template.spec.containers (a list with "
                      "the app's container), as manifests.load('rolling/no-probe.yaml') gives; "
                      f"got {_shape(docs)}")
    if not any(d.get("kind") == "Service" for d in docs):
        docs += [d for d in manifests.load(NO_PROBE) if d.get("kind") == "Service"]
    startup = _env(container, "STARTUP_SECONDS")
    if _as_float(startup) is None or _as_float(startup) < 3:
        return failed(f"this changes the application, not the Deployment: STARTUP_SECONDS is "
                      f"{startup!r} here, but the chat application really needs 3 s before it "
                      "listens — the exercise keeps the app as it is",
                      hint="keep STARTUP_SECONDS \"3\"; what can tell Kubernetes when a pod is "
                           "able to serve, rather than just running?",
                      fix="restore STARTUP_SECONDS \"3\" and add a readinessProbe (httpGet "
                          "/readyz on port http)")
    wrong = _probe_problems(container)
    if wrong:
        return failed(wrong, hint="the app's endpoints and port are in cluster/app/README.md "
                                  "and in web.yaml's probe",
                      fix="readinessProbe: httpGet path /readyz, port http (8080)")
    if container.get("image") != OLD_IMAGE:
        return failed(f"start from {OLD_IMAGE} (the image is {describe(container.get('image'))})"
                      f"; the check rolls it out to {NEW_IMAGE}")
    deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds", 600)
    deadline = deadline if is_number(deadline) and 0 < deadline <= 3600 else 600
    try:
        runs = [simulate_rollout(docs, seed=s, timeout=deadline + 120.0) for s in SEEDS]
    except ManifestError as exc:
        return failed(f"Kubernetes rejects this manifest — {exc}")
    except WaitTimeout:
        return _never_available(docs, container)
    stuck = [run for run in runs if not run.complete]
    if stuck:
        return _stalled(stuck[0], container)
    bad = [run for run in runs if run.failed]
    if bad:
        return _still_failing(runs, deployment, container)
    sent = sum(run.summary.sent for run in runs)
    seconds = max(run.seconds for run in runs)
    return passed(f"0 of {sent} requests failed over seeds {_seeds()}: each new pod gets "
                  f"traffic only once it answers, and the rollout took {seconds:g} s — longer "
                  "than without the fix, because the controller now waits for pods that can "
                  "really serve")


_LIVENESS = ("A liveness probe does not say when a pod may get traffic; it says when the "
             "kubelet must KILL the container and start it again")
_LIVENESS_FIX = ("use a readinessProbe (httpGet /readyz on port http, periodSeconds 1) instead "
                 "of — or besides — the livenessProbe; a liveness probe, if you keep one, needs "
                 "initialDelaySeconds longer than the app's 3 s start")


def _probe_problems(container: dict) -> Optional[str]:
    """A probe the real app would fail (unknown path, wrong port).

    The app answers only /, /healthz and /readyz on port 8080 (named
    ``http``): on a real cluster any other probe never succeeds and the
    rollout stalls, so it is refused here whatever the simulator models.
    """
    for kind in ("readinessProbe", "startupProbe", "livenessProbe"):
        probe = container.get(kind)
        if probe is None:
            continue
        if not isinstance(probe, dict):
            return f"{kind} is {describe(probe)}: expected a mapping such as {{'httpGet': ...}}"
        http, tcp = probe.get("httpGet"), probe.get("tcpSocket")
        if http is not None and not isinstance(http, dict):
            return f"{kind}.httpGet is {describe(http)}: expected {{'path': ..., 'port': ...}}"
        if tcp is not None and not isinstance(tcp, dict):
            return f"{kind}.tcpSocket is {describe(tcp)}: expected {{'port': ...}}"
        if http is not None:
            path = str(http.get("path", "/")).split("?")[0]
            if path not in APP_PATHS:
                return (f"{kind}.httpGet.path {path!r}: the chat application answers 404 there, "
                        "so on a real cluster the probe never succeeds and the rollout stalls")
        port = (http or tcp or {}).get("port")
        if (http is not None or tcp is not None) and port not in APP_PORTS:
            return (f"{kind} port {describe(port)}: nothing listens there (the app listens on "
                    "8080, the container port named 'http'), so the probe is refused and the "
                    "pod never becomes ready")
    return None


def _never_available(docs: list, container: dict) -> Verdict:
    """The 3.0 pods of the answer never became available: watch them and say what happened."""
    lab = Lab("sim", echo=False, seed=SEEDS[0])
    lab.apply(docs)
    lab.wait(STALL_WATCH_S)
    pods = list(lab.timeline.pods_of("web"))
    ready = sum(1 for p in pods if p.ready is not None and p.gone is None)
    restarts = _runs.restarts(pods)
    waits = _runs.waiting_reasons(pods)
    seen = (f"even the 3.0 Deployment never became available: after {STALL_WATCH_S:g} s, "
            f"{ready} of {len(pods)} pods were Ready and their containers had restarted "
            f"{_runs.plural(restarts, 'time')}"
            + (f" ({_runs.causes_text(waits)})" if waits else ""))
    return _probe_failure(seen, container, restarts)


def _stalled(run: Rollout, container: dict) -> Verdict:
    new = _runs.pods_of_version(run.lab.timeline, "web", "3.1")
    never = sum(1 for p in new if p.ready is None)
    restarts = _runs.restarts(new)
    seen = (f"the rollout to 3.1 did not complete ({run.result.status} after "
            f"{run.seconds:g} s): {never} of {len(new)} new pods never became Ready"
            + (f", and their containers restarted {_runs.plural(restarts, 'time')}"
               if restarts else ""))
    return _probe_failure(seen, container, restarts)


def _probe_failure(seen: str, container: dict, restarts: int) -> Verdict:
    """Pods that never became Ready: a liveness probe killing them, or a probe that cannot pass."""
    if container.get("livenessProbe") is not None and restarts:
        return failed(f"{seen}. {_LIVENESS} — and this app does not listen until 3 s after it "
                      "starts, so the probe fails and the kubelet kills every container "
                      "before it is up",
                      hint="which probe decides 'restart it' and which decides 'send it "
                           "traffic'? The app needs 3 s before it answers anything",
                      fix=_LIVENESS_FIX)
    return failed(seen, hint="look at the probe's settings: can it ever pass for this app?",
                  fix="readinessProbe: httpGet path /readyz, port http, periodSeconds 1")


def _still_failing(runs: list, deployment: dict, container: dict) -> Verdict:
    sent = sum(run.summary.sent for run in runs)
    lost = sum(run.failed for run in runs)
    causes = _runs.causes_text(sum((_runs.causes(run.run.requests) for run in runs),
                                   Counter()))
    head = f"{lost} of {sent} requests still failed ({causes}) over seeds {_seeds()}"
    if not container.get("readinessProbe") and not container.get("startupProbe"):
        new = [p for run in runs for p in _runs.pods_of_version(run.lab.timeline, "web", "3.1")]
        early = _runs.seconds_running_before_ready(new)
        message = (f"{head}: without a readiness probe each new pod was Ready "
                   f"{early:.2f} s after its container started (mean, measured), but the app "
                   "listens only 3 s after it starts — requests routed to it before then are "
                   "refused")
        if container.get("livenessProbe") is not None:
            message += f". {_LIVENESS}: it does not keep traffic away from a starting pod"
            restarted = sum(_runs.restarts(run.lab.timeline.pods_of("web")) for run in runs)
            if restarted:
                message += (f" — and here it failed before the app listened, so the kubelet "
                            f"restarted the containers {_runs.plural(restarted, 'time')} over "
                            f"the {len(runs)} "
                            f"runs ({_runs.restarts(new)} of them the new 3.1 pods'): each "
                            "restart starts the 3 s wait again while the pod keeps getting "
                            "traffic")
        if (deployment.get("spec") or {}).get("minReadySeconds"):
            message += (". minReadySeconds does not help: it delays when the Deployment counts "
                        "a Ready pod as available, not when the Service sends it traffic")
        return failed(message,
                      hint="what tells the kubelet when a pod can take traffic, not just that "
                           "its container runs? web.yaml in Part 1 has it",
                      fix="add to the container: readinessProbe: {httpGet: {path: /readyz, "
                          "port: http}, periodSeconds: 1}")
    new = [p for run in runs for p in _runs.pods_of_version(run.lab.timeline, "web", "3.1")]
    early = _runs.seconds_running_before_ready(new)
    startup = _as_float(_env(container, "STARTUP_SECONDS")) or 0.0
    if early is not None and early < startup:
        probe = container.get("readinessProbe") or container.get("startupProbe") or {}
        how = ("an exec probe passes when its command exits 0, whatever the app is doing"
               if isinstance(probe, dict) and "exec" in probe else
               "the probe passed before the app could answer")
        return failed(f"{head}: the new pods have a readiness probe, but it said Ready "
                      f"{early:.2f} s after each container started (mean, measured), while the "
                      f"app listens only {startup:g} s after it starts — {how}, so requests "
                      "reached pods that were not listening yet",
                      hint="a readiness probe is only as good as what it asks: which of the "
                           "app's endpoints answers only once the app can serve?",
                      fix="readinessProbe: {httpGet: {path: /readyz, port: http}, "
                          "periodSeconds: 1}")
    return failed(f"{head}. The pods have a readiness probe, so look at when the failures "
                  "happen in a run of your manifest: while old pods stop, or while new ones "
                  "start?",
                  hint="failures while old pods stop mean they quit before kube-proxy stopped "
                       "sending them requests",
                  fix="keep web.yaml's preStop sleep (lifecycle.preStop.sleep.seconds: 2) so old "
                      "pods serve until kube-proxy has dropped them")


# ---------------------------------------------------------------------------- exercise 4

HINT_01_4 = ("Kubernetes keeps the previous revision's pod template in an old ReplicaSet; "
             'which `kubectl rollout` subcommand goes back to it?')


@exercise("01.4", "a bad release, and the way back", cells=("ex4-bad", "ex4-rollback"),
          hint=HINT_01_4,
          fix="inside the with block: lab4.rollout_undo('web'), then lab4.wait_rollout('web') "
              "and lab4.wait_settled('web')")
def check_rollback(lab: Any, run: Any) -> Verdict:
    """Exercise 4: the reader rolled out 3.1-bad, saw its 500s, and rolled back to zero errors.

    Reads the reader's own run (their Lab's Timeline, on their backend): the
    bad version must have answered with 500 somewhere; no pod of it may be
    left; and in ``run`` (the traffic block around the rollback) every request
    sent after the last 3.1-bad pod went away must have succeeded — at least
    AFTER_ROLLBACK_MIN_REQUESTS of them.
    """
    if unanswered(lab, run):
        return missing("roll out 3.1-bad under traffic, then roll back inside "
                       "`with lab4.traffic(...) as rollback_run:` and pass lab4 and rollback_run")
    if not isinstance(lab, Lab):
        return failed(f"lab={describe(lab)}: expected the Lab you rolled back on (lab4)")
    if not isinstance(run, TrafficRun):
        return failed(f"run={describe(run)}: expected the traffic run around the rollback "
                      "(the `as rollback_run` of `with lab4.traffic(...)`)")
    if run.lab is not lab:
        return failed("rollback_run was recorded on another Lab than lab4: pass the Lab and "
                      "the traffic run of the same cell")
    if run.end is None:
        return failed("rollback_run is still running: call the check after the `with` block")
    timeline = lab.timeline
    bad_500 = [q for q in timeline.requests if q.status == 500 and _version(timeline, q) ==
               BAD_VERSION]
    if not bad_500:
        return failed(f"no request was answered by {BAD_IMAGE} with a 500 on this Lab: the "
                      "rollback needs something to roll back from (the 3.1-bad release under "
                      "traffic, as the cell starts with)")
    try:
        deployment = lab.get("Deployment", "web")
    except NotFoundError:
        return failed("this Lab has no Deployment web any more: run the exercise's cells again "
                      "from the top of exercise 4")
    container = _container(deployment) or {}
    image = container.get("image")
    window = [s for s in timeline.rs_steps if run.start <= s.t <= run.end]
    undo_hint = ("Kubernetes keeps the previous revision's pod template in an old ReplicaSet; "
                 "which `kubectl rollout` subcommand goes back to it?")
    undo_fix = ("inside the with block: lab4.rollout_undo('web'), then lab4.wait_rollout('web') "
                "and lab4.wait_settled('web')")
    if image == BAD_IMAGE and not window:
        return missing(f"the Deployment still runs {BAD_IMAGE} and nothing changed during "
                       "rollback_run: inside the `with` block, roll it back and wait until the "
                       "rollout is done and the old pods are gone", hint=undo_hint)
    if image == BAD_IMAGE:
        return failed(f"the ReplicaSets changed {_runs.plural(len(window), 'time')} during "
                      f"rollback_run, but the Deployment's image is still {BAD_IMAGE}",
                      hint=undo_hint, fix=undo_fix)
    bad_pods = [p for p in timeline.pods_of("web") if p.version == BAD_VERSION]
    # A rollback returns to what ran before 3.1-bad; set_image to another version is a
    # roll-forward (a new release), even when that version works.
    first_bad = min((p.created for p in bad_pods if p.created is not None), default=None)
    before = sorted({p.version for p in timeline.pods_of("web") if p.version not in
                     (None, BAD_VERSION) and first_bad is not None and p.created is not None
                     and p.created < first_bad})
    version = image_tag(str(image))
    if before and version not in before:
        return failed(f"the Deployment now runs {image}, but before {BAD_VERSION} it ran "
                      f"{' and '.join(before)}: that is a new release rolled forward, not a "
                      "rollback to the previous revision",
                      hint=undo_hint, fix=undo_fix)
    alive = [p.name for p in bad_pods if p.gone is None]
    if alive:
        return failed(f"{_runs.plural(len(alive), 'pod')} of {BAD_VERSION} still existed when "
                      f"rollback_run ended ({', '.join(alive)})",
                      hint="the rollback is itself a rollout: what did you wait for inside the "
                           "block, and what is still shutting down?",
                      fix="wait for the rollback (lab4.wait_rollout('web')) and for the old pods "
                          "to finish (lab4.wait_settled('web')) inside the traffic block")
    clean = max((p.gone for p in bad_pods), default=run.start)
    after = [q for q in run.requests if q.t >= clean]
    if len(after) < AFTER_ROLLBACK_MIN_REQUESTS:
        return failed(f"only {_runs.plural(len(after), 'request')} "
                      f"{_runs.agree(len(after), 'was', 'were')} sent after the last {BAD_VERSION} "
                      f"pod went away (t={clean:.1f} s): too few to show the errors are gone",
                      fix="keep the traffic running a few seconds longer: lab4.wait(5) inside "
                          "the block, after the rollback")
    lost = [q for q in after if not q.ok]
    if lost:
        return failed(f"{len(lost)} of {len(after)} requests after the rollback still failed "
                      f"({_runs.causes_text(_runs.causes(lost))}), the first at "
                      f"t={lost[0].t:.2f} s; the Deployment runs {image}",
                      hint="which version answered the failed requests?")
    during = [q for q in run.requests if q.t < clean and not q.ok]
    start = window[0].t if window else run.start
    return passed(f"rolled back to {image}: {_runs.plural(len(after), 'request')} after the last "
                  f"{BAD_VERSION} pod went away, 0 failed. The rollback itself took "
                  f"{clean - start:.1f} s from its first ReplicaSet step to the last bad pod "
                  f"gone, and {_runs.plural(len(during), 'request')} still failed during it — "
                  "a rolling "
                  "rollback replaces pods as slowly as the rollout did")


# ---------------------------------------------------------------------------- internals

def _shape(docs: list) -> str:
    kinds = [d.get("kind") for d in docs]
    return f"{len(docs)} document(s) of kind {', '.join(map(str, kinds))}" if docs else "nothing"


def _as_float(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _version(timeline, request) -> Optional[str]:
    if request.version is not None:
        return request.version
    record = timeline.pod(request.pod) if request.pod else None
    return record.version if record else None


def _seeds() -> str:
    return ", ".join(str(s) for s in SEEDS)
