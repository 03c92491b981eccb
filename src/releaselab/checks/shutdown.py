"""Checkers for lab 04, "Is it really zero-downtime?" (graceful shutdown and the endpoint race).

Every checker runs the reader's configuration on the simulator, with
``Lab(echo=False, seed=s)`` for several seeds and the default timing profile
(unless the exercise names another), measures the requests clients saw
during a rolling update, and judges the count of failed ones.  A wrong
answer is told *why*, with the numbers: which pods refused or cut requests,
and how that follows from the preStop hook, the grace period and the
0.30 s it takes an endpoint change to reach kube-proxy.

The measured procedure is :func:`rollout_under_traffic`, the same one the
lab's walkthrough uses, and it is the reference's: 20 requests/s, a new
connection per request, from 3 s before the rollout until 3 s after it.

Helpers the lab and its tests use too:

``rollout_under_traffic(lab, manifest)``  one measured rollout → (TrafficRun, RolloutResult)
``variant(manifest, ...)``                a copy of a manifest with shutdown settings changed
``shutdown_settings(manifest)``           what a manifest says about probe, hook, grace, app
``explain(run)``                          the failed requests of a run, grouped by why they failed
``termination_table(run)``                each deleted pod: kubelet, last routed, refused, cut
``endpoint_conditions(lab, pod)``         the pod's EndpointSlice conditions now
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

from .. import manifests
from ..errors import ReleaseLabError, UsageError
from ..timeline import REFUSED, RESET, TIMEOUT
from ._core import Verdict, failed, missing, passed, unanswered

RPS = 20              # the reference's request rate
LEAD_S = 3.0          # traffic starts this long before the rollout ...
TAIL_S = 3.0          # ... and ends this long after it completed
WARMUP_S = 5.0        # after "available", until every app listens (STARTUP_SECONDS <= 5)
SEEDS = (1, 2, 3)     # a checker's runs
SLOW_CLIENT_TIMEOUT_S = 5.0   # client timeout for the runs with slow (seconds-long) requests

#: The exercise "smallest preStop sleep": kube-proxy takes 1.5 s more to sync.
SMALLEST_SLEEP_PROFILE = {"proxy_sync_s": 1.5}

_UNCHANGED = object()


# ------------------------------------------------------------------------------ helpers

def _deployment(objects: list[dict]) -> dict:
    found = [o for o in objects if o.get("kind") == "Deployment"]
    if not found:
        raise UsageError("the manifest has no Deployment; lab 04 needs Deployment \"web\"")
    return found[0]


def _container(objects: list[dict]) -> dict:
    pod = (_deployment(objects).get("spec") or {}).get("template", {}).get("spec", {})
    containers = pod.get("containers") or []
    if not containers:
        raise UsageError("the Deployment's pod template has no container")
    return containers[0]


def variant(source, *, env: Optional[dict] = None, readiness=_UNCHANGED, prestop=_UNCHANGED,
            grace=_UNCHANGED, max_surge=_UNCHANGED, max_unavailable=_UNCHANGED) -> list[dict]:
    """A copy of a manifest (path, YAML text, dict or list) with its shutdown settings changed.

    ``env``: variables to set (``{"SHUTDOWN": "graceful"}``; a value None removes one);
    ``readiness``: False removes the readiness probe, a dict replaces it;
    ``prestop``: seconds of a ``sleep`` preStop hook (0 or None removes the hook);
    ``grace``: terminationGracePeriodSeconds; ``max_surge`` / ``max_unavailable``.
    """
    objects = manifests.load(source)
    deployment = _deployment(objects)
    container = _container(objects)
    for name, value in (env or {}).items():
        items = [e for e in container.get("env") or [] if e.get("name") != name]
        if value is not None:
            items.append({"name": name, "value": str(value)})
        container["env"] = items
    if readiness is not _UNCHANGED:
        if readiness is False or readiness is None:
            container.pop("readinessProbe", None)
        else:
            container["readinessProbe"] = copy.deepcopy(readiness)
    if grace is not _UNCHANGED:
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
    if prestop is not _UNCHANGED:
        if not prestop:
            container.pop("lifecycle", None)
        else:
            container["lifecycle"] = {"preStop": _sleep_hook(
                prestop, deployment["spec"]["template"]["spec"].get(
                    "terminationGracePeriodSeconds", 30))}
    rolling = deployment["spec"].setdefault("strategy", {}).setdefault("rollingUpdate", {})
    if max_surge is not _UNCHANGED:
        rolling["maxSurge"] = max_surge
    if max_unavailable is not _UNCHANGED:
        rolling["maxUnavailable"] = max_unavailable
    return objects


def _sleep_hook(seconds, grace) -> dict:
    """A preStop hook that sleeps ``seconds``.

    The ``sleep`` action when the API server accepts it; it refuses a sleep
    longer than the grace period (validateSleepAction: "must be non-negative
    and less than terminationGracePeriodSeconds"), so a hook meant to outlast
    the grace period is the older ``exec: [sleep, N]``, which it accepts.
    """
    if isinstance(grace, int) and isinstance(seconds, (int, float)) and seconds > grace:
        return {"exec": {"command": ["sleep", f"{seconds:g}"]}}
    return {"sleep": {"seconds": seconds}}


@dataclass(frozen=True)
class Settings:
    """What a manifest says about the pod's start and stop (after the API server's defaults)."""

    replicas: int
    readiness: bool
    probe_timeout_s: Optional[int]
    prestop_s: float
    grace_s: int
    startup_s: float
    latency_ms: float
    shutdown: str
    drain_s: float
    image: str


def shutdown_settings(source) -> Settings:
    """The start/stop settings of a manifest's Deployment, with the app's defaults filled in."""
    from ..sim.app import DEFAULTS

    objects = manifests.load(source)
    deployment, _ = manifests.validate(_deployment(objects))
    template = manifests.parse_template(deployment["spec"]["template"])
    env = {**manifests.load_images().get(template.image, {}), **template.env_dict()}
    env = {**DEFAULTS, **env}

    def number(name: str) -> float:
        try:
            return float(env[name])
        except ValueError:
            raise UsageError(f"env {name}={env[name]!r} is not a number") from None

    return Settings(replicas=deployment["spec"]["replicas"],
                    readiness=template.readiness is not None,
                    probe_timeout_s=template.readiness.timeout_s if template.readiness else None,
                    prestop_s=template.pre_stop_sleep_s, grace_s=template.grace_s,
                    startup_s=number("STARTUP_SECONDS"), latency_ms=number("LATENCY_MS"),
                    shutdown=env["SHUTDOWN"], drain_s=number("DRAIN_SECONDS"),
                    image=template.image)


def _next_image(image: str) -> str:
    return "releaselab/web:3.0" if image == "releaselab/web:3.1" else "releaselab/web:3.1"


def start_clean(lab, name: str = "web", timeout: float = 120.0) -> None:
    """Delete a Deployment ``name`` left by an earlier run and wait until its pods are gone.

    A no-op on a fresh simulator; on kind it makes each run start from nothing,
    instead of turning the next ``apply`` into a rollout of the old Deployment.
    """
    from ..errors import NotFoundError

    try:
        lab.get("Deployment", name)
    except NotFoundError:
        return
    lab.delete("Deployment", name)
    lab.wait_until(lambda: not lab.backend.list("Pod", {"app": name}), timeout,
                   f'every pod of the old Deployment "{name}" going away')


def rollout_under_traffic(lab, manifest, *, rps: float = RPS, timeout_s: float = 1.0,
                          to_image: Optional[str] = None, lead_s: float = LEAD_S,
                          tail_s: float = TAIL_S, warmup_s: float = WARMUP_S):
    """Apply ``manifest``, then roll Deployment "web" to a new image under traffic.

    The reference's procedure: traffic at ``rps`` from ``lead_s`` before the
    rollout until ``tail_s`` after it completed; then wait until every old pod
    is gone, so requests their shutdown cuts are counted too.  Returns
    ``(run, result)``: the TrafficRun and the RolloutResult.
    """
    objects = manifests.load(manifest)
    image = _container(objects).get("image", "")
    start_clean(lab)
    lab.apply(objects)
    lab.wait_available("web")
    lab.wait(warmup_s)
    with lab.traffic(rps=rps, timeout_s=timeout_s) as run:
        lab.wait(lead_s)
        lab.set_image("web", to_image or _next_image(image))
        result = lab.wait_rollout("web")
        lab.wait(tail_s)
    lab.wait_settled("web")
    return run, result


# ------------------------------------------------------------------------------ explaining

#: Why a request failed, as :func:`explain` groups them.
WHY = {
    "not_listening_yet": "refused by a new pod that did not listen yet (it got traffic before "
                         "its app had started: no readiness probe?)",
    "stopped_too_early": "refused by a terminating pod that had stopped listening while "
                         "kube-proxy still sent it requests (the endpoint race)",
    "cut_in_flight": "cut in flight (reset) when the app's process ended — SIGKILL at the end "
                     "of the grace period, or an immediate exit",
    "no_endpoints": "refused by kube-proxy: the Service had no endpoint at all",
    "timeout": "timed out (no answer within the client's timeout)",
    "http_error": "answered with an HTTP error by the app",
}


def classify(run) -> Counter:
    """Failed requests of a run by why they failed (keys of :data:`WHY`)."""
    timeline = run.lab.timeline
    counts: Counter = Counter()
    for q in run.requests:
        if q.ok:
            continue
        record = timeline.pod(q.pod) if q.pod else None
        if q.error == REFUSED and record is None:
            counts["no_endpoints"] += 1
        elif q.error == REFUSED:
            terminating = record.terminating is not None and q.t >= record.terminating
            counts["stopped_too_early" if terminating else "not_listening_yet"] += 1
        elif q.error == RESET:
            counts["cut_in_flight"] += 1
        elif q.error == TIMEOUT:
            counts["timeout"] += 1
        else:
            counts["http_error"] += 1
    return counts


def explain(run) -> list[str]:
    """One line per reason the run's requests failed: ``"3 refused by a terminating pod ..."``."""
    return [f"{n} {WHY[why]}" for why, n in sorted(classify(run).items(), key=lambda kv: -kv[1])]


def _measure(manifest, seeds: Iterable[int], profile=None, timeout_s: float = 1.0):
    """[(seed, run, result)] for each seed, on the simulator."""
    from ..lab import Lab

    out = []
    for seed in seeds:
        lab = Lab("sim", echo=False, seed=seed, profile=profile)
        run, result = rollout_under_traffic(lab, manifest, timeout_s=timeout_s)
        out.append((seed, run, result))
    return out


def _counts(results) -> str:
    return ", ".join(f"{run.failed}/{run.sent}" for _, run, _ in results)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def endpoint_conditions(lab, pod: str, service: str = "web") -> Optional[dict]:
    """The pod's endpoint conditions in the Service's EndpointSlices now, or None if not listed.

    ``{"ready": ..., "serving": ..., "terminating": ...}`` as the API shows
    them (on kind the slices have generated names, so they are found by the
    ``kubernetes.io/service-name`` label).
    """
    for eps in lab.backend.list("EndpointSlice", {"kubernetes.io/service-name": service}):
        for endpoint in eps.get("endpoints") or []:
            if (endpoint.get("targetRef") or {}).get("name") == pod:
                return dict(endpoint.get("conditions") or {})
    return None


def termination_table(run):
    """Each pod deleted during the run: when it was deleted, and what happened after, in seconds.

    Times are seconds after the pod's deletion.  ``kubelet``: the kubelet
    began stopping it (its "Killing" event); ``last_routed``: the last request
    kube-proxy sent it (at 20 req/s over 5 pods a pod gets one about every
    0.25 s, so this is coarse; measure at a high rate to see the propagation
    delay itself); ``gone``: the pod object disappeared; ``refused`` / ``cut``:
    its failed requests (a cut one may have been sent before the deletion).
    Read from the Timeline only, so it works on both backends.
    """
    import pandas as pd

    timeline = run.lab.timeline
    end = run.end if run.end is not None else float("inf")
    requests = run.requests
    rows = []
    for pod in timeline.pods:
        if pod.terminating is None or not run.start <= pod.terminating < end:
            continue
        mine = [q for q in requests if q.pod == pod.name]
        killing = [e.t for e in timeline.events if e.kind == "Pod" and e.name == pod.name
                   and e.reason == "Killing"]

        def rel(t):
            return None if t is None else round(t - pod.terminating, 3)

        rows.append({"pod": pod.name, "version": pod.version,
                     "deleted_at": round(pod.terminating, 3),
                     "kubelet": rel(killing[0]) if killing else None,
                     "last_routed": rel(max((q.t for q in mine), default=None)),
                     "gone": rel(pod.gone),
                     "refused": sum(1 for q in mine if q.error == REFUSED),
                     "cut": sum(1 for q in mine if q.error == RESET)})
    rows.sort(key=lambda row: row["deleted_at"])
    columns = ["pod", "version", "deleted_at", "kubelet", "last_routed", "gone", "refused", "cut"]
    return pd.DataFrame(rows, columns=columns).set_index("pod")


# ------------------------------------------------------------------------------ checkers

PREDICTION_BASE = "shutdown/no-prestop.yaml"

#: The "predict, then measure" cases: (what changes from no-prestop.yaml, variant arguments).
PREDICTION_CASES = {
    "A": ("the app ignores SIGTERM (SHUTDOWN=ignore), no preStop hook, grace 10 s",
          dict(env={"SHUTDOWN": "ignore"})),
    "B": ("a graceful app (SHUTDOWN=graceful: refuse new connections, finish in-flight ones), "
          "no preStop hook", dict(env={"SHUTDOWN": "graceful"})),
    "C": ("the app exits at once on SIGTERM, preStop sleep 1 s", dict(prestop=1)),
    "D": ("no readiness probe, preStop sleep 2 s, the app exits at once on SIGTERM",
          dict(readiness=False, prestop=2)),
    "E": ("a graceful app, preStop sleep 2 s, terminationGracePeriodSeconds 1",
          dict(env={"SHUTDOWN": "graceful"}, prestop=2, grace=1)),
}


def prediction_manifest(case: str) -> list[dict]:
    """The manifest of one "predict, then measure" case."""
    if case not in PREDICTION_CASES:
        raise UsageError(f"no case {case!r}; the cases are {', '.join(PREDICTION_CASES)}")
    return variant(PREDICTION_BASE, **PREDICTION_CASES[case][1])


def check_predictions(predictions) -> Verdict:
    """``predictions``: {case: True if the rollout drops requests, False if not}, every case."""
    if unanswered(predictions) or (isinstance(predictions, dict)
                                   and unanswered(*predictions.values())):
        return missing("set predictions = {'A': True or False, ...}: True if that rollout "
                       "drops requests")
    if not isinstance(predictions, dict):
        return failed(f"predictions must be a dict like {{'A': True, 'B': False, ...}}, "
                      f"not {type(predictions).__name__}")
    absent = [c for c in PREDICTION_CASES if c not in predictions]
    extra = [c for c in predictions if c not in PREDICTION_CASES]
    if absent or extra:
        return failed(f"predict every case {', '.join(PREDICTION_CASES)} and only those"
                      + (f" (missing: {', '.join(absent)})" if absent else "")
                      + (f" (unknown: {', '.join(map(str, extra))})" if extra else ""))
    bad = [c for c, v in predictions.items() if not isinstance(v, bool)]
    if bad:
        return failed(f"each prediction is True (drops requests) or False (drops none); "
                      f"case {bad[0]} is {predictions[bad[0]]!r}")
    lines, wrong = [], 0
    for case, (what, _) in PREDICTION_CASES.items():
        results = _measure(prediction_manifest(case), SEEDS)
        drops = any(run.failed for _, run, _ in results)
        said = predictions[case]
        ok = said == drops
        wrong += not ok
        why = ""
        if drops:
            why = " — " + "; ".join(explain(max((r for _, r, _ in results),
                                                key=lambda r: r.failed)))
        lines.append(f"{'✓' if ok else '✗'} {case}: you said {'drops' if said else 'no drops'}; "
                     f"measured {_counts(results)} failed{why}")
    body = "\n  ".join(lines)
    if wrong:
        return failed(f"{wrong} of {len(PREDICTION_CASES)} predictions wrong (failed/sent over "
                      f"seeds {', '.join(map(str, SEEDS))}):\n  {body}")
    return passed(f"all {len(PREDICTION_CASES)} predictions right:\n  {body}")


def check_smallest_prestop(seconds, profile: Optional[dict] = None) -> Verdict:
    """The smallest whole-second preStop sleep with zero failed requests on ``profile``."""
    profile = dict(SMALLEST_SLEEP_PROFILE if profile is None else profile)
    if unanswered(seconds):
        return missing("set smallest_sleep to a whole number of seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return failed(f"smallest_sleep must be a number of seconds >= 0, not {seconds!r}")
    if seconds != int(seconds):
        return failed(f"the sleep action takes whole seconds (sleep: {{seconds: N}}); "
                      f"{seconds} is not one — round it the safe way")
    seconds = int(seconds)
    from ..sim.profile import KIND_LIKE

    timing = KIND_LIKE.with_overrides(profile)
    head, window = timing.kubelet_kill_s, timing.endpoint_propagation_s

    def run(s: int):
        return _measure(variant("shutdown/prestop.yaml", prestop=s), SEEDS, profile=profile)

    results = run(seconds)
    lost = sum(r.failed for _, r, _ in results)
    if lost:
        return failed(f"preStop sleep {seconds} s is too short: the kubelet starts the hook "
                      f"{head:.2f} s after the deletion, so the app stops listening "
                      f"{head + seconds:.2f} s after it — but kube-proxy keeps sending it "
                      f"requests until {window:.2f} s after it: "
                      f"{_plural(lost, 'request')} refused over {len(SEEDS)} runs "
                      f"({_counts(results)})")
    if seconds == 0:
        return passed("zero failures with no hook at all")
    smaller = run(seconds - 1)
    if not any(r.failed for _, r, _ in smaller):
        return failed(f"{seconds} s gives zero failures, but so does {seconds - 1} s "
                      f"({_counts(smaller)} failed): {seconds} s is not the smallest")
    return passed(f"preStop sleep {seconds} s: zero failed requests over {len(SEEDS)} runs; "
                  f"the pod keeps listening until {head + seconds:.2f} s after its deletion, "
                  f"after kube-proxy dropped it at {window:.2f} s. With {seconds - 1} s it "
                  f"stops at {head + seconds - 1:.2f} s and {_counts(smaller)} requests failed.")


def check_grace_period(grace) -> Verdict:
    """terminationGracePeriodSeconds for shutdown/short-grace.yaml (3 s requests, 1 s preStop)."""
    if unanswered(grace):
        return missing("set grace_seconds to a terminationGracePeriodSeconds value")
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        return failed(f"terminationGracePeriodSeconds is a whole number of seconds >= 0, "
                      f"not {grace!r}")
    manifest = variant("shutdown/short-grace.yaml", grace=grace)
    s = shutdown_settings(manifest)
    results = _measure(manifest, SEEDS, timeout_s=SLOW_CLIENT_TIMEOUT_S)
    cut = sum(classify(r)["cut_in_flight"] for _, r, _ in results)
    lost = sum(r.failed for _, r, _ in results)
    if cut:
        return failed(f"terminationGracePeriodSeconds {grace}: the kubelet sends SIGKILL "
                      f"{grace} s after the hook started, but a request accepted just before "
                      f"kube-proxy dropped the pod runs {s.latency_ms / 1000:g} s: "
                      f"{_plural(cut, 'request')} cut in flight (reset) over {len(SEEDS)} runs "
                      f"({_counts(results)} failed)")
    if lost:
        return failed(f"terminationGracePeriodSeconds {grace}: no request was cut, but "
                      f"{_counts(results)} failed: " + "; ".join(explain(results[0][1])))
    need = s.prestop_s + s.latency_ms / 1000
    note = (f" (at least the {need:g} s of preStop sleep plus the longest request)"
            if grace >= need else f" (less than the {need:g} s of preStop sleep plus the "
            "longest request: it works only because the requests kube-proxy still sent "
            "finish in time; leave a margin)")
    return passed(f"terminationGracePeriodSeconds {grace}: every request in flight finished "
                  f"before SIGKILL — zero failed over {len(SEEDS)} runs{note}")


def check_fixed_manifest(manifest, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The repaired shutdown/broken.yaml: zero failed requests over three seeded rollouts."""
    if unanswered(manifest):
        return missing("set fixed_manifest to your repaired manifest (YAML text, a dict or a "
                       "list of dicts)")
    seeds = tuple(seeds)
    try:
        s = shutdown_settings(manifest)
        wanted = shutdown_settings("shutdown/broken.yaml")
    except ReleaseLabError as exc:
        return failed(f"the manifest does not load: {exc}")
    if s.startup_s < wanted.startup_s or s.latency_ms < wanted.latency_ms:
        return failed(f"fix the manifest, not the app: keep STARTUP_SECONDS "
                      f"{wanted.startup_s:g} and LATENCY_MS {wanted.latency_ms:g} (yours: "
                      f"{s.startup_s:g} and {s.latency_ms:g})")
    if s.replicas < wanted.replicas:
        return failed(f"keep {wanted.replicas} replicas (yours: {s.replicas}): the service "
                      "needs them")
    if s.readiness and s.probe_timeout_s is not None and s.probe_timeout_s * 1000 <= s.latency_ms:
        return failed(f"the readiness probe's timeoutSeconds {s.probe_timeout_s} is shorter than "
                      f"the app's {s.latency_ms:g} ms answer (LATENCY_MS applies to /readyz too): "
                      "the probe would fail forever and the pods never become ready")
    try:
        results = _measure(manifest, seeds, timeout_s=SLOW_CLIENT_TIMEOUT_S)
    except ReleaseLabError as exc:
        return failed(f"the rollout did not finish: {exc}")
    stalled = [seed for seed, _, result in results if not result.complete]
    if stalled:
        return failed(f"the rollout did not complete (seed {stalled[0]}: ProgressDeadlineExceeded)")
    bad = [(seed, run) for seed, run, _ in results if run.failed]
    if not bad:
        return passed(f"zero failed requests in all {len(seeds)} rollouts "
                      f"({_counts(results)} failed/sent, seeds {', '.join(map(str, seeds))})")
    reasons: Counter = Counter()
    for _, run in bad:
        reasons.update(classify(run))
    hints = []
    if reasons["not_listening_yet"]:
        hints.append("add a readiness probe (/readyz), so no pod gets traffic before it listens")
    if reasons["stopped_too_early"]:
        from ..sim.profile import KIND_LIKE

        hints.append(f"your preStop sleep ({s.prestop_s:g} s) must outlast the "
                     f"{KIND_LIKE.endpoint_propagation_s:.2f} s it takes kube-proxy to drop a "
                     "terminating pod")
    if reasons["cut_in_flight"]:
        hints.append(f"terminationGracePeriodSeconds {s.grace_s} is too short for the preStop "
                     f"sleep ({s.prestop_s:g} s) plus a {s.latency_ms / 1000:g} s request")
    lines = "; ".join(f"{n} {WHY[why]}" for why, n in reasons.most_common())
    return failed(f"{_counts(results)} failed/sent over seeds {', '.join(map(str, seeds))}: "
                  f"{lines}. To fix: " + "; ".join(hints or ["see the reasons above"]))

