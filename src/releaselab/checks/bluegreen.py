"""Checkers for lab 02, blue-green (the e-commerce site, 1.0 → 1.1).

Each judges what the reader *measured*: the TrafficRun they sent, the Lab
they built, the result a strategy returned.  Nothing compares against a
stored answer, so any correct way of doing it passes, and a wrong one is told
why, with the numbers of the reader's own run.
"""

from __future__ import annotations

from collections import Counter

from ._core import Verdict, failed, missing, passed, unanswered

OLD, NEW, BAD = "1.0", "1.1", "1.1-bad"
MIN_PREVIEW_REQUESTS = 50


def _versions(requests) -> Counter:
    return Counter(q.version for q in requests if q.ok)


def preview_verified(preview) -> Verdict:
    """Exercise 1: green was tested through the preview Service, before any user saw it."""
    if unanswered(preview):
        return missing("send traffic to the preview Service inside `with lab.traffic(...)` "
                       "and name the run `preview`")
    target = getattr(preview, "target", None)
    requests = list(getattr(preview, "requests", []))
    versions = _versions(requests)
    if target != "web-preview":
        seen = ", ".join(f"{v} × {n}" for v, n in sorted(versions.items(), key=str)) or "nothing"
        return failed(f"the run went to {target!r}, the ACTIVE Service: it answered {seen} — "
                      "that is what users get (blue), not the green release; use "
                      "target=\"web-preview\"")
    if len(requests) < MIN_PREVIEW_REQUESTS:
        return failed(f"only {len(requests)} requests reached web-preview: too few to trust "
                      f"(at 20 req/s, wait at least {MIN_PREVIEW_REQUESTS / 20:g} s); send at "
                      f"least {MIN_PREVIEW_REQUESTS}")
    bad = [q for q in requests if not q.ok]
    if bad:
        return failed(f"{len(bad)} of {len(requests)} preview requests failed "
                      f"({Counter(q.cause for q in bad).most_common(1)[0][0]}): green is not "
                      "ready to take users — do not switch")
    if set(versions) != {NEW}:
        return failed(f"the preview answered {dict(versions)}: it should reach green "
                      f"({NEW}) only — is its selector color: green?")
    return passed(f"{len(requests)} requests to web-preview, all answered by {NEW}, none "
                  "failed: green works, and no user has seen it yet")


def switch_dropped_nothing(run) -> Verdict:
    """Exercise 2: the selector switch moved users from 1.0 to 1.1 without a failed request."""
    if unanswered(run):
        return missing("run the switch inside `with lab.traffic(rps=100) as run:`")
    requests = list(run.requests)
    if not requests:
        return failed("the run recorded no request: put the switch inside the `with` block")
    first_new = next((q.t for q in requests if q.ok and q.version == NEW), None)
    if first_new is None:
        return missing("every request was answered by 1.0: the switch has not happened yet — "
                       "set the web Service's selector to color: green")
    last_old = max((q.t for q in requests if q.ok and q.version == OLD), default=None)
    bad = [q for q in requests if not q.ok]
    if bad:
        causes = ", ".join(f"{c} {n}" for c, n in Counter(q.cause for q in bad).items())
        return failed(f"{len(bad)} of {len(requests)} requests failed ({causes}): a switch "
                      "between two running, ready colours should drop none — was green "
                      "available before you switched, and did blue keep running?")
    marks = [m for m in run.lab.timeline.marks
             if run.start <= m.t <= (run.end or float("inf")) and "switch" in m.label.lower()]
    if marks and last_old is not None:
        lag = (f"; 1.0 answered its last request {last_old - marks[0].t:.2f} s after the switch "
               "(kube-proxy learning the new selector), then only 1.1")
    else:
        lag = "; first 1.0, then only 1.1"
    return passed(f"{len(requests)} requests, 0 failed{lag}")


def no_room_for_green(small_lab, pending) -> Verdict:
    """Exercise 3: on a cluster with room for 5 pods, count green's Pending pods."""
    if unanswered(small_lab, pending):
        return missing("build the small cluster, deploy green on it, and set `pending`")
    pods = small_lab.backend.list("Pod")
    green = [p for p in pods if (p["metadata"].get("labels") or {}).get("color") == "green"]
    waiting = [p for p in green if not p["spec"].get("nodeName")]
    blue = [p for p in pods if (p["metadata"].get("labels") or {}).get("color") == "blue"]
    if not green:
        return failed("there is no green pod in that lab: apply blue-green/green.yaml to it")
    events = [e for e in small_lab.timeline.events if e.reason == "FailedScheduling"]
    why = f" (FailedScheduling: {events[-1].message})" if events else ""
    if pending != len(waiting):
        return failed(f"you said {pending}, but {len(waiting)} of {len(green)} green pods have no "
                      f"node{why}; `lab.pods()` lists them with NODE None")
    return passed(f"{len(blue)} blue + {len(green) - len(waiting)} green pods run; "
                  f"{len(waiting)} green pods are Pending{why}. Blue-green needs room for twice "
                  "the pods, or the release stalls before the switch")


def bad_release_never_reached_users(result, run) -> Verdict:
    """Exercise 4: a gate stops 1.1-bad before the switch: zero users see it."""
    if unanswered(result, run):
        return missing("call blue_green(...) with a gate inside the traffic run")
    status = getattr(result, "status", None)
    bad = [q for q in run.requests if not q.ok]
    from_bad = [q for q in run.requests if q.version == BAD]
    if status == "promoted":
        return failed(f"1.1-bad was promoted: {len(bad)} of {len(run.requests)} user requests "
                      "failed — there was no gate to stop it; pass pre_promotion=Analysis(...)")
    if status == "rolled_back":
        return failed(f"the post-promotion analysis caught it and switched back, but "
                      f"{len(from_bad)} user requests reached 1.1-bad and {len(bad)} failed: "
                      "the check ran AFTER the switch; test through the preview Service before "
                      "it (pre_promotion)")
    if status != "aborted":
        return failed(f"the release ended {status!r}: {getattr(result, 'reason', '')}")
    if from_bad or bad:
        return failed(f"aborted, yet {len(from_bad)} user requests reached 1.1-bad and "
                      f"{len(bad)} failed")
    return passed(f"aborted before the switch ({result.reason.split(';')[0]}); "
                  f"{len(run.requests)} user requests, 0 failed, none answered by 1.1-bad")
