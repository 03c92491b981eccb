"""Checkers for lab 02, blue-green (the e-commerce site, 1.0 → 1.1).

Every checker here **reads the reader's own run** — the TrafficRun they sent,
the Lab they built, the result a strategy returned — on whichever backend
they used; nothing is simulated behind their back and nothing is compared
against a stored answer, so any correct way of doing it passes, and a wrong
one is told why, with the numbers of their own run.

``fresh_lab(seed)`` is each exercise's starting point: a Lab on the reader's
backend, reset (:meth:`Lab.reset`), with blue serving users and green beside it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from ..errors import ReleaseLabError
from ..lab import Lab, TrafficRun
from ..strategies import StrategyResult
from . import _runs
from ._core import Verdict, describe, exercise, failed, missing, passed, unanswered, whole

OLD, NEW, BAD = "1.0", "1.1", "1.1-bad"
BLUE, GREEN = "web-blue", "web-green"     # the two Deployments of blue-green/*.yaml
MIN_PREVIEW_REQUESTS = 50
#: Exercise 2: users must have been on 1.0 this long in the run before 1.1 first answered.
#: A selector changed just *before* the run still shows 1.0 at its start, for as long as
#: kube-proxy takes to learn the change: 0.30 s on the simulator's default profile, up to
#: about 1.3 s on kind, whose kube-proxy keeps minSyncPeriod 1 s (sim/profile.py,
#: proxy_min_sync_s).  A run whose first 1.1 answer comes 0.30 s after it began is such
#: a switch made before it, not one the run saw; the lab's cell switches after 5 s.
MIN_ON_OLD_S = 1.5


def fresh_lab(seed: int = 2, green: bool = True, echo: bool = False,
              backend: Optional[str] = None) -> Lab:
    """The lab's known starting state on the reader's backend (``backend`` None: the one
    ``RELEASELAB_BACKEND`` names).

    Deletes what an earlier run left (:meth:`Lab.reset`), then: ``web-blue``
    (4 × 1.0) serving users through Service ``web``, ``web-preview`` selecting
    green, and ``web-green`` — with ``green=True`` 4 × 1.1 and available, with
    ``green=False`` at 0 replicas (idle, for :func:`~releaselab.strategies.blue_green`).
    The set-up runs quietly; ``echo=True`` prints the kubectl twin of every call made on
    the returned Lab afterwards (the reader's own: the switch, a strategy's steps), as
    ``Lab(echo=True)`` does — the labs pass it, the book's figures do not.
    """
    lab = Lab(backend, seed=seed, echo=False)
    lab.reset()
    lab.apply("blue-green/blue.yaml")
    lab.apply("blue-green/services.yaml")
    lab.apply("blue-green/green.yaml")
    if not green:
        lab.scale(GREEN, 0)
    lab.wait_available(BLUE)
    if green:
        lab.wait_available(GREEN)
    lab.echo = echo
    return lab


def _versions(requests) -> Counter:
    return Counter(q.version for q in requests if q.ok)


def _not_a_run(name: str, value: Any, what: str) -> Optional[Verdict]:
    """A ❌ when ``value`` is not a finished TrafficRun (None when it is one)."""
    if not isinstance(value, TrafficRun):
        return failed(f"{name}={describe(value)}: expected {what}")
    if value.end is None:
        return failed(f"{name} is still running: call the check after the `with` block")
    return None


HINT_02_1 = ('lab.traffic(rps=..., target=...) sends requests to the Service you name, until '
             'the with block ends; which Service reaches green?')


@exercise("02.1", "test green through the preview Service", hint=HINT_02_1,
          fix='with lab.traffic(rps=20, target="web-preview") as preview: lab.wait(10)')
def preview_verified(preview: Any) -> Verdict:
    """Exercise 1: green was tested through the preview Service, before any user saw it.

    Reads the reader's run ``preview``: its target, how many requests, which
    versions answered them and whether any failed.  Any rate and length pass
    that send at least MIN_PREVIEW_REQUESTS (the lab's 20 req/s for 10 s sends
    200); the message says the rate and length the run had.
    """
    if unanswered(preview):
        return missing("send traffic to the preview Service inside `with lab.traffic(...)` "
                       "and name the run `preview`",
                       hint="lab.traffic(rps=..., target=...) sends requests to the Service "
                            "you name, until the with block ends")
    wrong = _not_a_run("preview", preview, "the run of `with lab.traffic(...) as preview:`")
    if wrong is not None:
        return wrong
    requests = list(preview.requests)
    versions = _versions(requests)
    if preview.target != "web-preview":
        seen = ", ".join(f"{v} × {n}" for v, n in sorted(versions.items(), key=str)) or "nothing"
        return failed(f"the run went to {preview.target!r}, which answered {seen}: that is what "
                      "users get (blue), not the green release",
                      hint="two Services select the two colours: which one reaches the idle "
                           "colour, green?",
                      fix='lab.traffic(rps=20, target="web-preview")')
    shape = (f"{preview.rps:g} req/s for {preview.end - preview.start:.1f} s")
    if len(requests) < MIN_PREVIEW_REQUESTS:
        return failed(f"only {_runs.plural(len(requests), 'request')} reached web-preview "
                      f"({shape}): too few "
                      f"to trust (at least {MIN_PREVIEW_REQUESTS}, whatever the rate)",
                      hint=f"requests = rate × seconds: at {preview.rps:g} req/s, how long must "
                           "the block last?",
                      fix="lab.wait(10) inside the with block")
    bad = [q for q in requests if not q.ok]
    if bad:
        return failed(f"{len(bad)} of {len(requests)} preview requests failed "
                      f"({_runs.causes_text(_runs.causes(bad))}): green is not ready to take "
                      "users — do not switch",
                      hint="is green available (lab.pods())? Wait until it is before testing")
    if set(versions) != {NEW}:
        return failed(f"the preview answered {dict(versions)}: it should reach green ({NEW}) "
                      "only", hint="look at web-preview's selector: lab.get('Service', "
                                   "'web-preview')")
    return passed(f"{_runs.plural(len(requests), 'request')} to web-preview ({shape}; the "
                  f"check needs at least {MIN_PREVIEW_REQUESTS}), all answered by {NEW}, none "
                  "failed: green works, and no user has seen it yet")


HINT_02_2 = ("the switch is a change of the web Service's selector, made inside the traffic "
             'run while blue and green both run')


@exercise("02.2", "switch, and prove that no request was dropped", hint=HINT_02_2,
          fix="inside `with lab.traffic(rps=100) as run:`, after lab.wait(5): web = "
              "lab.get('Service', 'web'); web['spec']['selector']['color'] = 'green'; "
              "lab.apply(web)")
def switch_dropped_nothing(run: Any) -> Verdict:
    """Exercise 2: the selector switch moved users from 1.0 to 1.1 without a failed request.

    Reads the reader's run: which versions answered, any failure, and how
    long 1.0 kept answering after the "switch" mark.  The run must show users
    on 1.0 first: a selector changed before the run began fails, even though
    kube-proxy's delay lets 1.0 answer its first requests (see MIN_ON_OLD_S).
    """
    if unanswered(run):
        return missing("run the switch inside `with lab.traffic(rps=100) as run:`",
                       hint="the switch is a change of the web Service's selector")
    wrong = _not_a_run("run", run, "the run of `with lab.traffic(...) as run:`")
    if wrong is not None:
        return wrong
    requests = list(run.requests)
    if not requests:
        return failed("the run recorded no request: the switch must happen inside the `with` "
                      "block while traffic runs")
    first_new = next((q.t for q in requests if q.ok and q.version == NEW), None)
    switch_hint = ("the Service `web` sends users to the pods its selector matches: which label "
                   "tells blue pods from green ones?")
    bad = [q for q in requests if not q.ok]
    if first_new is None and bad:
        return failed(f"{len(bad)} of {len(requests)} requests failed "
                      f"({_runs.causes_text(_runs.causes(bad))}), from t="
                      f"{bad[0].t - run.start:.2f} s into the run, and none reached {NEW}: "
                      f"{_selected(run.lab)}", hint=switch_hint,
                      fix="web = lab.get('Service', 'web'); web['spec']['selector']['color'] "
                          "= 'green' (the label value green.yaml's pods carry); lab.apply(web)")
    if first_new is None:
        return missing(f"all {len(requests)} requests were answered by {OLD}: the switch has "
                       "not happened yet — change the web Service's selector", hint=switch_hint)
    # 1.1 from blue's own pods is a rolling update of web-blue (set_image on it), not a
    # switch: the Service's selector never moved, and blue's pods were replaced in place.
    not_green = sorted({q.pod for q in requests if q.ok and q.version == NEW and q.pod
                        and not q.pod.startswith(f"{GREEN}-")})
    if not_green:
        return failed(f"{NEW} answered from {_runs.plural(len(not_green), 'pod')} that "
                      f"{_runs.agree(len(not_green), 'is', 'are')} not {GREEN}'s "
                      f"({', '.join(not_green[:3])}{', …' if len(not_green) > 3 else ''}): "
                      f"the new version reached users by replacing {BLUE}'s pods, a rolling "
                      "update, so there was no second colour to switch to or back from",
                      hint="blue-green keeps blue untouched and moves users by changing what "
                           "the Service selects; which object did your cell change?",
                      fix="leave web-blue as it is; change Service web's selector to "
                          "color: green")
    last_old = max((q.t for q in requests if q.ok and q.version == OLD), default=None)
    before_hint = ("the run has to show users on 1.0 first and then the switch: where in the "
                   "cell does your selector change happen, before or after the traffic starts?")
    before_fix = ("change the selector inside the `with lab.traffic(rps=100) as run:` block, "
                  "after its lab.wait(5)")
    if last_old is None:
        return failed(f"all {len(requests)} requests were answered by {NEW}: the selector was "
                      "changed before the run began, so the run never saw users move from "
                      f"{OLD} to {NEW}", hint=before_hint, fix=before_fix)
    lead = first_new - run.start
    if lead < MIN_ON_OLD_S:
        return failed(f"{NEW} answered from {lead:.2f} s after the traffic began, and {OLD} "
                      f"only until {last_old - run.start:.2f} s: the selector was changed before "
                      f"the run (those first {OLD} answers are kube-proxy still using its old "
                      "rules), so the run did not see users move from one version to the other",
                      hint=before_hint, fix=before_fix)
    if bad:
        return failed(f"{len(bad)} of {len(requests)} requests failed "
                      f"({_runs.causes_text(_runs.causes(bad))}), the first at "
                      f"t={bad[0].t:.2f} s",
                      hint="a switch between two running, ready colours drops nothing: was "
                           "green available before you switched, and did blue keep running?",
                      fix="switch only the selector (color: green) of Service web, with both "
                          "Deployments running")
    marks = [m for m in run.lab.timeline.marks
             if run.start <= m.t <= run.end and "switch" in m.label.lower()]
    if marks and last_old >= marks[0].t:
        lag = (f"; 1.0 answered its last request {last_old - marks[0].t:.2f} s after the switch "
               "(kube-proxy learning the new selector), then only 1.1")
    else:
        lag = (f"; 1.0 answered until {last_old - run.start:.2f} s into the run, then only 1.1 "
               f"(from {lead:.2f} s)")
    return passed(f"{_runs.plural(len(requests), 'request')}, 0 failed{lag}")


HINT_02_3 = ('a pod the scheduler could not place has no node: small.pods(wide=True) shows the'
             ' NODE column')


def _selected(lab: Lab) -> str:
    """What Service web selects now, and how many pods match it (read from the reader's Lab)."""
    try:
        selector = dict((lab.get("Service", "web").get("spec") or {}).get("selector") or {})
    except ReleaseLabError as exc:
        return f"Service web cannot be read ({exc})"
    matching = lab.pods(selector=selector) if selector else []
    if matching:
        return (f"Service web selects {selector}, which "
                f"{_runs.plural(len(matching), 'pod')} "
                f"{_runs.agree(len(matching), 'matches', 'match')}")
    return (f"Service web selects {selector}, which 0 pods match — with no endpoint, "
            "kube-proxy refuses every connection")


def switch_back_report(run: TrafficRun, switched_at: float, was: Optional[str]) -> str:
    """What the lab's rollback cell measured, saying only what happened.

    ``was`` is the colour Service web selected before the cell set it to blue:
    if it was already blue (exercise 2's switch never made), nothing was
    switched back and the line says so instead of timing a switch that did not
    happen.
    """
    head = f"{_runs.plural(run.sent, 'request')}, {run.failed} failed"
    if was != "green":
        return (f"{head}; Service web selected color: {was} already (exercise 2's switch to "
                "green has not been made on this lab), so nothing was switched back — every "
                f"answer came from {OLD}" if not any(q.version == NEW for q in run.requests)
                else f"{head}; Service web selected color: {was}, not green, before this cell")
    late = [q.t - switched_at for q in run.requests
            if q.t >= switched_at and q.version == NEW]
    if not late:
        return f"{head}; after the switch back only {OLD} answered"
    return (f"{head}; {NEW} answered for {max(late):.2f} s after the switch back, then only "
            f"{OLD}")


@exercise("02.3", "the cost: twice the pods, and no room for green", hint=HINT_02_3,
          fix="pending = sum(1 for p in small.pods(wide=True) if p['node'] is None)")
def no_room_for_green(small_lab: Any, pending: Any) -> Verdict:
    """Exercise 3: on a cluster with room for 5 pods, count green's Pending pods.

    Reads the reader's Lab: its green pods without a node, and the
    FailedScheduling event that says why.
    """
    if unanswered(small_lab, pending):
        return missing("build the small cluster, deploy green on it, and set `pending`",
                       hint="a pod the scheduler could not place has no node")
    if not isinstance(small_lab, Lab):
        return failed(f"small_lab={describe(small_lab)}: expected the small Lab you deployed "
                      "green on")
    count = whole(pending)
    if count is None or count < 0:
        return failed(f"pending={describe(pending)}: expected a whole number of pods >= 0")
    pods = small_lab.backend.list("Pod")

    def colour(pod: dict) -> Optional[str]:
        return ((pod.get("metadata") or {}).get("labels") or {}).get("color")

    green = [p for p in pods if colour(p) == "green"]
    blue = [p for p in pods if colour(p) == "blue"]
    waiting = [p for p in green if not (p.get("spec") or {}).get("nodeName")]
    if not green:
        return failed("there is no green pod in that Lab: apply blue-green/green.yaml to it")
    events = [e for e in small_lab.timeline.events if e.reason == "FailedScheduling"]
    why = f" (FailedScheduling: {events[-1].message})" if events else ""
    if count != len(waiting):
        return failed(f"you said {count}, but {len(waiting)} of {len(green)} green pods have no "
                      f"node{why}",
                      hint="small.pods(wide=True) lists every pod with its NODE "
                           "(kubectl get pods -o wide): count the green ones whose NODE is "
                           "<none> — None in each row's dict",
                      fix="pending = sum(1 for p in small.pods(wide=True) if p['node'] is None)")
    return passed(f"{len(blue)} blue + {len(green) - len(waiting)} green pods run; "
                  f"{len(waiting)} green pods are Pending{why}. Blue-green needs room for twice "
                  "the pods, or the release stalls before the switch")


HINT_02_4 = ('blue_green can analyse green before the switch or after it; only one of them '
             'runs before any user reaches green')


@exercise("02.4", "stop the bad release before any user sees it", hint=HINT_02_4,
          fix='blue_green(lab, "releaselab/web:1.1-bad", pre_promotion=Analysis(interval_s=5))')
def bad_release_never_reached_users(result: Any, run: Any) -> Verdict:
    """Exercise 4: a gate stops 1.1-bad before the switch: zero users see it.

    Reads the reader's run: the StrategyResult ``blue_green`` returned and the
    users' requests around it.  The abort must come from a failed measurement:
    a gate whose every measurement was inconclusive would abort the good
    release as well, so it fails here.
    """
    if unanswered(result, run):
        return missing("call blue_green(...) with a gate inside the traffic run",
                       hint="blue_green can analyse green before the switch or after it")
    if not isinstance(result, StrategyResult):
        return failed(f"result={describe(result)}: expected what blue_green(...) returns")
    wrong = _not_a_run("run", run, "the users' run, `with lab.traffic(...) as gate_run:`")
    if wrong is not None:
        return wrong
    requests = list(run.requests)
    bad = [q for q in requests if not q.ok]
    from_bad = [q for q in requests if q.version == BAD]
    gate_hint = ("an analysis after the switch can only switch back once users were hurt; "
                 "which gate tests green through the preview Service before any user sees it?")
    gate_fix = 'blue_green(lab, "releaselab/web:1.1-bad", pre_promotion=Analysis(interval_s=5))'
    if result.status == "promoted":
        return failed(f"1.1-bad was promoted: {len(bad)} of {len(requests)} user requests "
                      "failed, and nothing stopped it", hint=gate_hint, fix=gate_fix)
    if result.status == "rolled_back":
        return failed(f"the post-promotion analysis caught it and switched back, but "
                      f"{len(from_bad)} user requests reached 1.1-bad and {len(bad)} failed: the "
                      "check ran after the switch", hint=gate_hint, fix=gate_fix)
    if result.status != "aborted":
        return failed(f"the release ended {result.status!r}: {result.reason}",
                      hint=gate_hint, fix=gate_fix)
    caught = [m for m in result.measurements if m.judgement.failed]
    if not caught:
        last = result.measurements[-1].judgement if result.measurements else None
        why = (f"every measurement was inconclusive (the last: {last.reason})" if last
               else f"no measurement was made ({result.reason})")
        return failed(f"aborted before the switch, but not because 1.1-bad failed a test: "
                      f"{why}. A gate that cannot reach a verdict aborts every release — the "
                      f"good {NEW} too — so it has not told the bad release from a good one",
                      hint="how many preview requests does the analysis get in its smoke "
                           "test (smoke_rps × smoke_s), and how many does min_requests ask for?",
                      fix=gate_fix)
    if from_bad or bad:
        return failed(f"aborted, yet {len(from_bad)} user requests reached 1.1-bad and "
                      f"{len(bad)} failed", hint="was the run `gate_run` the users' traffic to "
                                                 "Service web?")
    return passed(f"aborted before the switch ({result.reason.split(';')[0]}); "
                  f"{len(requests)} user requests, 0 failed, none answered by 1.1-bad")
