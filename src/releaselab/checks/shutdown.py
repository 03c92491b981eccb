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
from ..timeline import REFUSED, RESET
from ._core import (Verdict, describe, exercise, failed, load_answer, missing, passed,
                    unanswered, whole)
from ._runs import causes, causes_text, plural

RPS = 20              # the reference's request rate
LEAD_S = 3.0          # traffic starts this long before the rollout ...
TAIL_S = 3.0          # ... and ends this long after it completed
WARMUP_S = 5.0        # after "available", until every app listens (STARTUP_SECONDS <= 5)
SEEDS = (1, 2, 3)     # a checker's runs
SLOW_CLIENT_TIMEOUT_S = 5.0   # client timeout for the runs with slow (seconds-long) requests

#: The exercise "smallest preStop sleep": kube-proxy takes 1.5 s (not 0.25 s) to
#: write an EndpointSlice change into its rules.
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


def prestop_hook(seconds, lab=None, current: Optional[dict] = None, grace=None) -> dict:
    """A ``lifecycle`` that sleeps ``seconds`` before SIGTERM, in a form the cluster accepts.

    The ``sleep`` action (``preStop: {sleep: {seconds: N}}``) where it can be;
    ``exec: {command: ["sleep", "N"]}`` instead — the demo image has a
    ``sleep`` binary (python:3.12-slim), and the simulator runs both forms
    alike — when

    - the API server is older than the action (1.30, on by default;
      :mod:`releaselab.kube._version`): ``lab`` on kind reports its version;
    - the sleep is longer than the grace period ``grace``, which the API
      server refuses for the action (validateSleepAction: "must be
      non-negative and less than terminationGracePeriodSeconds") but not for
      ``exec``;
    - the manifest already sleeps through ``exec`` (``current``).
    """
    from ..kube._version import SLEEP_ACTION_SINCE

    version = getattr(getattr(lab, "backend", None), "server_version", None)
    old_server = version is not None and tuple(version[:2]) < SLEEP_ACTION_SINCE
    uses_exec = "exec" in ((current or {}).get("preStop") or {})
    too_long = isinstance(grace, int) and isinstance(seconds, (int, float)) and seconds > grace
    if old_server or uses_exec or too_long:
        return {"preStop": {"exec": {"command": ["sleep", prestop_seconds(seconds)]}}}
    return {"preStop": {"sleep": {"seconds": seconds}}}


def prestop_seconds(seconds) -> str:
    """``2`` → ``"2"``, ``1.5`` → ``"1.5"`` (sleep(1) takes fractions; the action whole seconds)."""
    return f"{seconds:g}" if isinstance(seconds, float) else str(seconds)


def variant(source, *, env: Optional[dict] = None, readiness=_UNCHANGED, prestop=_UNCHANGED,
            grace=_UNCHANGED, max_surge=_UNCHANGED, max_unavailable=_UNCHANGED,
            lab=None) -> list[dict]:
    """A copy of a manifest (path, YAML text, dict or list) with its shutdown settings changed.

    ``env``: variables to set (``{"SHUTDOWN": "graceful"}``; a value None removes one);
    ``readiness``: False removes the readiness probe, a dict replaces it;
    ``prestop``: seconds of a preStop sleep (0 or None removes the hook) — the
    ``sleep`` action, or ``exec: [sleep, N]`` where the action would be refused:
    a cluster of ``lab`` older than that action, a sleep longer than ``grace``
    (validateSleepAction), or a manifest that already sleeps by exec (see
    :func:`prestop_hook`);
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
            container["lifecycle"] = prestop_hook(
                prestop, lab, container.get("lifecycle"),
                grace=deployment["spec"]["template"]["spec"].get(
                    "terminationGracePeriodSeconds", 30))
    rolling = deployment["spec"].setdefault("strategy", {}).setdefault("rollingUpdate", {})
    if max_surge is not _UNCHANGED:
        rolling["maxSurge"] = max_surge
    if max_unavailable is not _UNCHANGED:
        rolling["maxUnavailable"] = max_unavailable
    return objects


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


def start_clean(lab, name: str = "web", timeout: float = 300.0) -> None:
    """The same as ``lab.reset()`` (kept for notebooks written before it existed).

    ``name`` is ignored: :meth:`Lab.reset` deletes every object the kit applied
    — on lab 04's manifests that is Deployment "web" and its Service — and
    waits until their pods are gone.
    """
    lab.reset(timeout=timeout)


def rollout_under_traffic(lab, manifest, *, rps: float = RPS, timeout_s: float = 1.0,
                          to_image: Optional[str] = None, lead_s: float = LEAD_S,
                          tail_s: float = TAIL_S, warmup_s: float = WARMUP_S):
    """Reset ``lab``, apply ``manifest``, then roll Deployment "web" to a new image under traffic.

    On ``lab``'s own backend (the reader's run, or ``Lab("sim")`` when a checker
    simulates an answer).  :meth:`Lab.reset` first deletes what an earlier run
    left, so the rollout starts from a known state.  The reference's procedure: traffic at ``rps`` from ``lead_s`` before the
    rollout until ``tail_s`` after it completed; then wait until every old pod
    is gone, so requests their shutdown cuts are counted too.  Returns
    ``(run, result)``: the TrafficRun and the RolloutResult.
    """
    objects = manifests.load(manifest)
    image = _container(objects).get("image", "")
    lab.reset()             # a known state: nothing an earlier run left can join the rollout
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
    """Failed requests of a run by why they failed (keys of :data:`WHY`).

    A request that names its pod (every one on the simulator) is judged by
    that pod's state; on kind a refused or reset request names none and is
    attributed to the endpoint kube-proxy sent it to, from the EndpointSlice
    and pod watches (:mod:`releaselab._attribution`)."""
    from .._attribution import attribute

    return Counter(a.why for a in attribute(run.lab.timeline, run.requests).values())


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
    Read from the Timeline only, so it works on both backends: on kind, where
    a refused or reset request names no pod, it counts for the pod it is
    attributed to (:mod:`releaselab._attribution`).
    """
    import pandas as pd

    from .._attribution import attribute

    timeline = run.lab.timeline
    end = run.end if run.end is not None else float("inf")
    requests = run.requests
    went_to = {i: a.pod for i, a in attribute(timeline, requests).items()}
    rows = []
    for pod in timeline.pods:
        if pod.terminating is None or not run.start <= pod.terminating < end:
            continue
        mine = [q for i, q in enumerate(requests) if went_to.get(i, q.pod) == pod.name]
        killing = [e.t for e in timeline.events if e.kind == "Pod" and e.name == pod.name
                   and e.reason == "Killing"]

        def rel(t):      # hundredths, as every column prints (3.62, not 3.620 beside 3.461)
            return None if t is None else round(t - pod.terminating, 2)

        rows.append({"pod": pod.name, "version": pod.version,
                     "deleted_at": round(pod.terminating, 2),
                     "kubelet": rel(killing[0]) if killing else None,
                     "last_routed": rel(max((q.t for q in mine), default=None)),
                     "gone": rel(pod.gone),
                     "refused": sum(1 for q in mine if q.error == REFUSED),
                     "cut": sum(1 for q in mine if q.error == RESET)})
    rows.sort(key=lambda row: row["deleted_at"])
    columns = ["pod", "version", "deleted_at", "kubelet", "last_routed", "gone", "refused", "cut"]
    return pd.DataFrame(rows, columns=columns).set_index("pod")


# ------------------------------------------------------------------------------ checkers
#
# Every checker below simulates the answer: _measure() builds Lab("sim", seed=s)
# for each seed, whatever RELEASELAB_BACKEND says — a checker never touches the
# reader's cluster.

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
    # The sleep action must not be longer than the grace period (validateSleepAction), so
    # the manifest a reader can write for E runs `sleep 2` as an exec command.
    "E": ("a graceful app, preStop hook exec: [sleep, 2] (a command: the sleep action may "
          "not be longer than the grace period), terminationGracePeriodSeconds 1",
          dict(env={"SHUTDOWN": "graceful"}, prestop=2, grace=1)),
}
#: The largest terminationGracePeriodSeconds the exercise takes (Kubernetes takes more).
MAX_GRACE_S = 3600


def prediction_manifest(case: str) -> list[dict]:
    """The manifest of one "predict, then measure" case."""
    if case not in PREDICTION_CASES:
        raise UsageError(f"no case {case!r}; the cases are {', '.join(PREDICTION_CASES)}")
    return variant(PREDICTION_BASE, **PREDICTION_CASES[case][1])


def _deletion_facts(results) -> dict:
    """Seconds after each old pod's deletion, over every run: when the kubelet began stopping it
    (its Killing event), the requests it refused, and the last request routed to it."""
    kubelet, refused, routed = [], [], []
    for _, run, _ in results:
        timeline = run.lab.timeline
        end = run.end if run.end is not None else float("inf")
        for pod in timeline.pods:
            if pod.terminating is None or not run.start <= pod.terminating < end:
                continue
            killing = [e.t for e in timeline.events if e.kind == "Pod" and e.name == pod.name
                       and e.reason == "Killing"]
            if killing:
                kubelet.append(killing[0] - pod.terminating)
            mine = [q for q in run.requests if q.pod == pod.name and q.t >= pod.terminating]
            refused += [q.t - pod.terminating for q in mine if q.error == REFUSED]
            routed += [q.t - pod.terminating for q in mine]
    return {"kubelet": kubelet, "refused": refused, "routed": routed}


def _span(values: list) -> str:
    low, high = min(values), max(values)
    return f"{low:.2f} s" if round(low, 2) == round(high, 2) else f"{low:.2f}–{high:.2f} s"


HINT_04_2 = ('for each case ask: does the app stop listening before kube-proxy stops sending '
             'it requests (run 2 measured when that is)?')


@exercise("04.2", "predict, then measure", hint=HINT_04_2,
          fix="a case drops requests when the app stops listening (or dies) before kube-proxy "
              "stops sending it requests, about 0.30 s after the deletion: answer each of "
              "A–E with True (drops) or False from that rule")
def check_predictions(predictions) -> Verdict:
    """``predictions``: {case: True if the rollout drops requests, False if not}, every case.

    Simulates each case on seeds SEEDS and compares with what was measured.
    """
    if unanswered(predictions) or (isinstance(predictions, dict)
                                   and unanswered(*predictions.values())):
        return missing("set predictions = {'A': True or False, ...}: True if that rollout "
                       "drops requests",
                       hint="for each case ask: does the app stop listening before kube-proxy "
                            "stops sending it requests (run 2 measured when that is)?")
    if not isinstance(predictions, dict):
        return failed(f"predictions={describe(predictions)}: expected a dict like "
                      "{'A': True, 'B': False, ...}")
    absent = [c for c in PREDICTION_CASES if c not in predictions]
    extra = [c for c in predictions if c not in PREDICTION_CASES]
    if absent or extra:
        return failed(f"predict every case {', '.join(PREDICTION_CASES)} and only those"
                      + (f" (missing: {', '.join(absent)})" if absent else "")
                      + (f" (unknown: {', '.join(map(describe, extra))})" if extra else ""))
    bad = [c for c, v in predictions.items() if not isinstance(v, bool)]
    if bad:
        return failed(f"each prediction is True (drops requests) or False (drops none); "
                      f"case {bad[0]} is {describe(predictions[bad[0]])}")
    lines, wrong, why_lines = [], [], []
    for case, (what, _) in PREDICTION_CASES.items():
        results = _measure(prediction_manifest(case), SEEDS)
        drops = any(run.failed for _, run, _ in results)
        said = predictions[case]
        if said != drops:
            wrong.append(case)
        why = ""
        if drops:
            seed, worst, _ = max(results, key=lambda item: item[1].failed)
            why = f" — in the run of seed {seed}, the worst: " + "; ".join(explain(worst))
        lines.append(f"{'✓' if said == drops else '✗'} {case}: you said "
                     f"{'drops' if said else 'no drops'}; measured {_counts(results)} failed{why}")
        why_lines.append(f"{case}: {'drops' if drops else 'no drops'}")
    body = "\n  ".join(lines)
    if wrong:
        return failed(f"{len(wrong)} of {len(PREDICTION_CASES)} predictions wrong (failed/sent "
                      f"over seeds {', '.join(map(str, SEEDS))}):\n  {body}",
                      hint="for case " + ", ".join(wrong) + ": when does the app stop "
                           "accepting connections (the hook, then SIGTERM), and when does "
                           "kube-proxy stop sending them? A readiness probe also matters while "
                           "new pods start",
                      fix="; ".join(why_lines))
    return passed(f"all {len(PREDICTION_CASES)} predictions right:\n  {body}")


HINT_04_3 = 'try values in the cell above: the count of failed requests is the judge'


@exercise("04.3", "the smallest preStop sleep", cells=("ex2-try",), hint=HINT_04_3,
          fix="try_sleep(1), try_sleep(2), … in the cell above: the answer is the first whole "
              "number of seconds that gives 0 failed requests")
def check_smallest_prestop(seconds, profile: Optional[dict] = None) -> Verdict:
    """The smallest whole-second preStop sleep with zero failed requests on ``profile``.

    Simulates the answer (and the next smaller sleep) on seeds SEEDS; every
    time in the message is measured from those runs.
    """
    profile = dict(SMALLEST_SLEEP_PROFILE if profile is None else profile)
    if unanswered(seconds):
        return missing("set smallest_sleep to a whole number of seconds",
                       hint=HINT_04_3)
    sleep = whole(seconds)
    if sleep is None or sleep < 0 or sleep > MAX_GRACE_S:
        return failed(f"smallest_sleep={describe(seconds)}: expected a whole number of seconds "
                      f"from 0 to {MAX_GRACE_S} — the sleep action takes whole seconds "
                      "(sleep: {seconds: N})")

    def run(s: int):
        return _measure(variant("shutdown/prestop.yaml", prestop=s), SEEDS, profile=profile)

    results = run(sleep)
    lost = sum(r.failed for _, r, _ in results)
    facts = _deletion_facts(results)
    kubelet = f"{_span(facts['kubelet'])}" if facts["kubelet"] else "?"
    if lost:
        why = causes_text(causes(q for _, r, _ in results for q in r.requests))
        refused = (f"; the refused ones reached pods {_span(facts['refused'])} after the "
                   "pods' deletion" if facts["refused"] else "")
        return failed(f"preStop sleep {sleep} s: {plural(lost, 'request')} failed over "
                      f"{len(SEEDS)} runs ({_counts(results)}: {why}){refused}. The kubelet "
                      f"began stopping each pod {kubelet} after its deletion, so with {sleep} s of "
                      "sleep the app stopped listening before kube-proxy stopped sending it "
                      "requests",
                      hint="the pod must keep listening until kube-proxy stops sending it "
                           "requests: when after the deletion did the last refused request "
                           "arrive?",
                      fix="the smallest whole number of seconds for which the kubelet's start "
                          f"({kubelet}) plus the sleep comes after the last request routed to a "
                          "deleted pod; measure it with try_sleep in the cell above")
    if sleep == 0:
        return passed("zero failures with no hook at all")
    smaller = run(sleep - 1)
    if not any(r.failed for _, r, _ in smaller):
        # Which shorter sleep also works is the reader's to measure (try_sleep): naming
        # it here would hand over the answer.
        return failed(f"preStop sleep {sleep} s: zero failed requests over {len(SEEDS)} runs "
                      f"({_counts(results)}), but a shorter whole-second sleep gives zero "
                      f"too: {sleep} s is not the smallest",
                      hint="try smaller values with try_sleep until one fails")
    last = f"{max(facts['routed']):.2f} s" if facts["routed"] else "?"
    return passed(f"preStop sleep {sleep} s: zero failed requests over {len(SEEDS)} runs. The "
                  f"kubelet began stopping each pod {kubelet} after its deletion, so the app "
                  f"listened {sleep} s longer; the last request kube-proxy routed to a deleted "
                  f"pod arrived {last} after the deletion. With {sleep - 1} s, "
                  f"{_counts(smaller)} requests failed")


HINT_04_1 = 'the grace period counts from the start of the preStop hook'


@exercise("04.1", "the grace period", hint=HINT_04_1,
          fix="grace_seconds = 10: the 1 s hook plus the 4.5 s longest request, with a margin, "
              "as a whole number of seconds")
def check_grace_period(grace) -> Verdict:
    """terminationGracePeriodSeconds for shutdown/short-grace.yaml (4.5 s requests, 1 s preStop).

    Simulates the answer on seeds SEEDS and counts the requests SIGKILL cut.
    A value below the hook plus a request can still pass: SIGKILL comes at the
    end of the hook + max(grace − the hook's whole seconds, 2) (the kubelet's
    killContainer), and the last requests were accepted when kube-proxy
    dropped the pod, 0.30 s after its deletion — grace 5 puts SIGKILL at
    0.12 + 1 + 4 = 5.12 s, after those requests end at 0.30 + 4.5 = 4.80 s.
    The message then says it works without a margin.
    """
    if unanswered(grace):
        return missing("set grace_seconds to a terminationGracePeriodSeconds value",
                       hint=HINT_04_1)
    value = whole(grace)
    if value is None or value < 0 or value > MAX_GRACE_S:
        return failed(f"grace_seconds={describe(grace)}: expected a whole number of seconds "
                      f"from 0 to {MAX_GRACE_S}")
    manifest = variant("shutdown/short-grace.yaml", grace=value)
    s = shutdown_settings(manifest)
    results = _measure(manifest, SEEDS, timeout_s=SLOW_CLIENT_TIMEOUT_S)
    cut = sum(classify(r)["cut_in_flight"] for _, r, _ in results)
    lost = sum(r.failed for _, r, _ in results)
    gone = [p.gone - p.terminating for _, r, _ in results for p in r.lab.timeline.pods
            if p.terminating is not None and p.gone is not None
            and r.start <= p.terminating < (r.end or float("inf"))]
    if cut:
        return failed(f"terminationGracePeriodSeconds {value}: {plural(cut, 'request')} cut in "
                      f"flight (reset) over {len(SEEDS)} runs ({_counts(results)} failed); "
                      f"each old pod was gone {_span(gone)} after its deletion, while a request "
                      f"takes {s.latency_ms / 1000:g} s (LATENCY_MS {s.latency_ms:g})",
                      hint=f"the grace period starts with the {s.prestop_s:g} s preStop hook; "
                           "what must still fit into it after the hook?",
                      fix=f"at least the {s.prestop_s:g} s hook plus the "
                          f"{s.latency_ms / 1000:g} s longest request, with a margin: e.g. 10")
    if lost:
        return failed(f"terminationGracePeriodSeconds {value}: no request was cut, but "
                      f"{_counts(results)} failed: " + "; ".join(explain(results[0][1])))
    need = s.prestop_s + s.latency_ms / 1000
    parts = (f"the {s.prestop_s:g} s preStop sleep plus the {s.latency_ms / 1000:g} s "
             f"longest request = {need:g} s")
    note = (f" (at least {parts})"
            if value >= need else f" (less than {parts}: it works only because the requests kube-proxy still sent "
            "finish in time; leave a margin)")
    return passed(f"terminationGracePeriodSeconds {value}: every request in flight finished "
                  f"before SIGKILL — zero failed over {len(SEEDS)} runs{note}")


def _manifest_shape(manifest) -> Optional[str]:
    """Why ``manifest`` is not lab 04's kind of manifest (None if it is one)."""
    objects, wrong = load_answer("fixed_manifest", manifest)
    if wrong is not None:
        return wrong.message
    deployments = [o for o in objects if o.get("kind") == "Deployment"]
    try:
        containers = deployments[0]["spec"]["template"]["spec"]["containers"]
        ok = isinstance(containers, list) and containers and isinstance(containers[0], dict)
    except (IndexError, KeyError, TypeError):
        ok = False
    if not ok:
        return ("expected a Deployment \"web\" with spec.template.spec.containers, as "
                "shutdown/broken.yaml has")
    return None


def _no_margin(s: Settings, results) -> str:
    """A note for a passing manifest whose grace period is shorter than its hook plus a request.

    It passes because the kubelet's killContainer gives SIGTERM at least 2 s
    after the hook (SIGKILL at the end of the hook + max(grace − the hook's
    whole seconds, 2)): broken.yaml with a 2 s hook and grace 2 keeps each
    old pod until about 0.12 + 2 + 2 = 4.12 s after its deletion, and the
    last 2.5 s request, accepted when kube-proxy dropped the pod at 0.30 s,
    ends at 2.80 s.  Longer requests or a longer hook would be cut: say so,
    with the measured times ("" when the grace period covers both).
    """
    need = s.prestop_s + s.latency_ms / 1000
    if s.grace_s >= need:
        return ""
    gone = [p.gone - p.terminating for _, r, _ in results for p in r.lab.timeline.pods
            if p.terminating is not None and p.gone is not None
            and r.start <= p.terminating < (r.end or float("inf"))]
    kept = f" (each old pod was gone {_span(gone)} after its deletion)" if gone else ""
    return (f". Your terminationGracePeriodSeconds {s.grace_s} is less than the "
            f"{s.prestop_s:g} s hook plus a {s.latency_ms / 1000:g} s request ({need:g} s): it "
            "works only because the kubelet always gives SIGTERM at least 2 s after the hook"
            f"{kept}, so the last requests finished — slower requests would be cut; leave a "
            "margin")


def diagnose(manifest, seeds: Iterable[int] = SEEDS) -> list[str]:
    """What a rollout of ``manifest`` does to requests, measured on the simulator: one line per
    reason, no advice (lab 04 shows the broken manifest with it)."""
    results = _measure(manifest, tuple(seeds), timeout_s=SLOW_CLIENT_TIMEOUT_S)
    reasons: Counter = Counter()
    for _, run, _ in results:
        reasons.update(classify(run))
    head = f"{_counts(results)} failed/sent over seeds {', '.join(map(str, seeds))}"
    return [head] + [f"{n} {WHY[why]}" for why, n in reasons.most_common()]


HINT_04_4 = ('run 1, run 3 and run 4 each showed a setting that decides whether a rollout '
             'fails requests')


@exercise("04.4", "fix a broken manifest", hint=HINT_04_4,
          fix="a readinessProbe on /readyz with timeoutSeconds 5, a preStop sleep of 2 s, "
              "terminationGracePeriodSeconds 10 and maxUnavailable 0")
def check_fixed_manifest(manifest, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The repaired shutdown/broken.yaml: zero failed requests over three seeded rollouts.

    Simulates the answer on ``seeds``.
    """
    if unanswered(manifest):
        return missing("set fixed_manifest to your repaired manifest (YAML text, a dict or a "
                       "list of dicts)",
                       hint=HINT_04_4)
    seeds = tuple(seeds)
    problem = _manifest_shape(manifest)
    if problem:
        return failed(problem)
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
                      "the probe would fail forever and the pods never become ready",
                      hint="a probe whose answer comes after timeoutSeconds counts as failed: "
                           "how long does this app take to answer /readyz?",
                      fix=f"timeoutSeconds longer than {s.latency_ms / 1000:g}, e.g. 5")
    try:
        results = _measure(manifest, seeds, timeout_s=SLOW_CLIENT_TIMEOUT_S)
    except ReleaseLabError as exc:
        return failed(f"the rollout did not finish: {exc}")
    stalled = [seed for seed, _, result in results if not result.complete]
    if stalled:
        return failed(f"the rollout did not complete (seed {stalled[0]}: {results[0][2].status})",
                      hint="can the readiness probe pass for an app whose every answer takes "
                           f"{s.latency_ms / 1000:g} s?")
    bad = [(seed, run) for seed, run, _ in results if run.failed]
    if not bad:
        return passed(f"zero failed requests in all {len(seeds)} rollouts "
                      f"({_counts(results)} failed/sent, seeds {', '.join(map(str, seeds))})"
                      + _no_margin(s, results))
    reasons: Counter = Counter()
    for _, run in bad:
        reasons.update(classify(run))
    hints, fixes = [], []
    if reasons["not_listening_yet"]:
        hints.append(f"readiness probe: {'yes' if s.readiness else 'none'}")
        fixes.append("add a readiness probe on /readyz (timeoutSeconds above the "
                     f"{s.latency_ms / 1000:g} s answer), so no pod gets traffic before it "
                     "listens")
    if reasons["stopped_too_early"]:
        routed = _deletion_facts(results)["routed"]
        last = f" ({max(routed):.2f} s after the deletion in these runs)" if routed else ""
        hints.append(f"preStop sleep: {s.prestop_s:g} s")
        fixes.append("a preStop sleep longer than kube-proxy keeps sending requests to a "
                     f"deleted pod{last}: 2 s")
    if reasons["cut_in_flight"]:
        hints.append(f"terminationGracePeriodSeconds: {s.grace_s} s, SHUTDOWN: {s.shutdown}")
        fixes.append(f"SHUTDOWN graceful and terminationGracePeriodSeconds above the preStop "
                     f"sleep plus a {s.latency_ms / 1000:g} s request (10)")
    lines = "; ".join(f"{n} {WHY[why]}" for why, n in reasons.most_common())
    return failed(f"{_counts(results)} failed/sent over seeds {', '.join(map(str, seeds))}: "
                  f"{lines}",
                  hint="compare each cause with what your manifest sets — "
                       + ("; ".join(hints) or "see the causes above"),
                  fix="; ".join(fixes) or None)
