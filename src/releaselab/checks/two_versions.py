"""Lab 05, "Two versions at once": the shop's procedures, and the checkers of its exercises.

A rolling update and a blue-green switch both run two versions of the app
against ONE database and one set of user sessions.  Everything here measures
what that costs the shop's users — requests that fail because the code and
the schema do not fit (cause ``schema``), orders written and later missing
or wrong (**data lost**), users whose session vanished (**logged out**) —
with the traffic of :mod:`releaselab.workload`: 20 users taking turns, 20
requests per second in all, each user remembering its cookie and its orders.

The procedures, written against the public :class:`~releaselab.lab.Lab` only
(so the same calls run on kind):

``start_data(lab)``            PostgreSQL and Redis (cluster/manifests/data/), empty and ready
``deploy(lab, ...)``           the shop at 5.0 (two-versions/web.yaml), warmed up
``release(lab, image, m)``     one release: the image and the migration its pods run at start
``run_plan(lab, plan)``        orders traffic across a list of releases; returns (run, results)
``session_rollout(lab, ...)``  a rolling update under logged-in users
``blue_green_release(lab)``    the naive 5.1 by blue-green (releaselab.strategies.blue_green)
``schema_window(run)``         when and where the ``schema`` failures were

The checkers that simulate an answer (a prediction, a plan, an env fix) run
it on the simulator with ``Lab("sim", seed=s)`` for the seeds in ``SEEDS``,
whatever RELEASELAB_BACKEND says; ``check_choice`` judges the reader's own
runs and then re-measures them on the simulator.  Each says what it
measured first, then why.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Iterable, Optional

from .. import manifests
from ..errors import NotFoundError, ReleaseLabError, UsageError
from ..timeline import LOGGED_OUT, SCHEMA
from ._core import Verdict, failed, missing, passed, unanswered

RPS = 20              # requests per second, all users together
USERS = 20            # one request per user per second
LEAD_S = 8.0          # traffic before the first release: orders to migrate
TAIL_S = 5.0          # traffic after the last release settled
WARMUP_S = 3.0        # after "available", until every app listens (STARTUP_SECONDS 2)
SEEDS = (1, 2, 3)
WEB = "two-versions/web.yaml"
BLUE_GREEN = "two-versions/blue-green.yaml"
REDIS_URL = "redis://redis:6379/0"
OLD, NEW, BOTH = "5.0", "5.1", "5.1-both"
LATEST_SCHEMA = 4
_DATA = (("StatefulSet", "postgres"), ("StatefulSet", "redis"),
         ("PersistentVolumeClaim", "data-postgres-0"), ("PersistentVolumeClaim", "data-redis-0"))
_APPS = ("web", "web-blue", "web-green")


# ------------------------------------------------------------------------------ procedures

def _exists(lab, kind: str, name: str) -> bool:
    try:
        lab.get(kind, name)
        return True
    except NotFoundError:
        return False


def _ready(lab, name: str) -> bool:
    s = lab.get("StatefulSet", name)
    status = s.get("status") or {}
    return ((status.get("readyReplicas") or 0) >= s["spec"].get("replicas", 1)
            and status.get("observedGeneration", 0) >= s["metadata"].get("generation", 0))


def start_data(lab, *, fresh: bool = True, timeout: float = 300.0) -> None:
    """PostgreSQL and Redis from cluster/manifests/data/, ready; ``fresh``: empty ones.

    Fresh means what it does on a cluster: the shop's Deployments, both
    StatefulSets and their PersistentVolumeClaims (the data) are deleted
    first, and everything is applied again.  On a new simulated Lab there is
    nothing to delete; on kind this takes a minute or so.
    """
    if fresh:
        doomed = [(k, n) for k, n in [("Deployment", a) for a in _APPS] + list(_DATA)
                  if _exists(lab, k, n)]
        for kind, name in doomed:
            lab.delete(kind, name)
        if doomed:
            apps = {"web", "postgres", "redis"}
            lab.wait_until(lambda: not any(lab.backend.list("Pod", {"app": a}) for a in apps),
                           timeout, "the old shop's pods going away")
    lab.apply("data/postgres.yaml")
    lab.apply("data/redis.yaml")
    if lab.echo:
        print("$ kubectl rollout status statefulset/postgres statefulset/redis")
    lab.wait_until(lambda: _ready(lab, "postgres") and _ready(lab, "redis"), timeout,
                   "PostgreSQL and Redis becoming ready")


def image_tag(image: str) -> str:
    """'5.1-both' → 'releaselab/web:5.1-both'; a full tag as it is."""
    if not isinstance(image, str) or not image:
        raise UsageError(f"image {image!r}: a version such as '5.1' or a tag such as "
                         "'releaselab/web:5.1'")
    return image if ":" in image else f"releaselab/web:{image}"


def baked(image: str) -> dict:
    """The environment an image bakes in (cluster/images.yaml), or {} if it is not listed."""
    return manifests.load_images().get(image_tag(image), {})


def variant(source=WEB, *, image: Optional[str] = None, env: Optional[dict] = None,
            sticky: Optional[bool] = None) -> list[dict]:
    """A copy of a manifest: each Deployment's image and env changed, Service web made sticky.

    ``env``: {NAME: value}; a value None removes the variable.  ``sticky``:
    True adds ``sessionAffinity: ClientIP`` to Service "web", False removes it.
    """
    objects = manifests.load(source)
    for obj in objects:
        if obj.get("kind") == "Deployment":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            if image is not None:
                container["image"] = image_tag(image)
            for name, value in (env or {}).items():
                items = [e for e in container.get("env") or [] if e.get("name") != name]
                if value is not None:
                    items.append({"name": name, "value": str(value)})
                container["env"] = items
        if obj.get("kind") == "Service" and obj["metadata"]["name"] == "web" and \
                sticky is not None:
            obj["spec"].pop("sessionAffinityConfig", None)
            obj["spec"].pop("sessionAffinity", None)
            if sticky:
                obj["spec"]["sessionAffinity"] = "ClientIP"
    return objects


def deploy(lab, source=WEB, *, env: Optional[dict] = None, sticky: Optional[bool] = None,
           warmup_s: float = WARMUP_S) -> None:
    """Apply the shop (a variant of ``source``) and wait until every pod serves."""
    objects = variant(source, env=env, sticky=sticky)
    lab.apply(objects)
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["spec"].get("replicas", 1):
            lab.wait_available(obj["metadata"]["name"])
    lab.wait(warmup_s)


def release(lab, image: str, migrate: Optional[int] = None, name: str = "web"):
    """One release: the pods get ``image``, and run MIGRATE=``migrate`` when they start.

    ``migrate`` None: the image's own (5.0: 1, 5.1-both: 2, 5.1: 4).  One change
    of the pod template (``kubectl patch``), so one rollout; returns when the
    old pods are gone, with the RolloutResult.
    """
    tag = image_tag(image)
    m = migrate if migrate is not None else int(baked(tag).get("MIGRATE", 0))
    lab.mark(f"release {tag.split(':', 1)[1]} (MIGRATE={m})", "step")
    lab.patch("Deployment", name, {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": tag, "env": [{"name": "MIGRATE", "value": str(m)}]}]}}}})
    result = lab.wait_rollout(name)
    lab.wait_settled(name)
    return result


def normalize_plan(plan) -> list[tuple[str, Optional[int]]]:
    """[(tag, migrate or None)] from a plan of ("5.1-both", 2) pairs, or versions alone."""
    if not isinstance(plan, (list, tuple)) or not plan:
        raise UsageError("a plan is a non-empty list of releases, e.g. [('5.1-both', 2), "
                         "('5.1', 3)]: each an image and the MIGRATE its pods run at start")
    known = manifests.load_images()
    steps = []
    for i, step in enumerate(plan, 1):
        image, migrate = (step, None) if isinstance(step, str) else (tuple(step) + (None,))[:2] \
            if isinstance(step, (list, tuple)) and 1 <= len(step) <= 2 else (None, None)
        if image is None:
            raise UsageError(f"release {i} is {step!r}: write it as ('5.1', 3) — an image "
                             "and a schema version — or just '5.1'")
        tag = image_tag(image)
        if tag not in known:
            shop = ", ".join(t.split(":")[1] for t in known if t.split(":")[1].startswith("5."))
            raise UsageError(f"release {i}: no image {tag} in cluster/images.yaml (the shop's "
                             f"are {shop}); on a cluster its pods would never start")
        if migrate is not None and (isinstance(migrate, bool) or not isinstance(migrate, int)
                                    or not 0 <= migrate <= LATEST_SCHEMA):
            raise UsageError(f"release {i}: MIGRATE {migrate!r} is not a schema version (0 to "
                             f"{LATEST_SCHEMA})")
        steps.append((tag, migrate))
    return steps


def run_plan(lab, plan, *, rps: float = RPS, users: int = USERS, lead_s: float = LEAD_S,
             tail_s: float = TAIL_S, fresh: bool = True):
    """From an empty database and 5.0, every release of ``plan`` under orders traffic.

    Returns ``(run, results)``: the TrafficRun (its orders audited when the
    traffic stopped, after the last release) and one RolloutResult per release.
    """
    steps = normalize_plan(plan)
    if fresh:
        start_data(lab)
        deploy(lab)
    with lab.traffic(rps=rps, users=users, workload="orders") as run:
        lab.wait(lead_s)
        results = [release(lab, tag, migrate) for tag, migrate in steps]
        lab.wait(tail_s)
    return run, results


def session_rollout(lab, *, env: Optional[dict] = None, sticky: bool = True,
                    image: str = NEW, lead_s: float = LEAD_S, tail_s: float = TAIL_S):
    """A rolling update of the shop under 20 logged-in users; returns the TrafficRun.

    ``env`` changes the shop's environment first (e.g. its SESSION_STORE);
    ``sticky``: Service web with ``sessionAffinity: ClientIP``.
    """
    start_data(lab)
    deploy(lab, env=env, sticky=sticky)
    with lab.traffic(rps=RPS, users=USERS, workload="sessions") as run:
        lab.wait(lead_s)
        release(lab, image)
        lab.wait(tail_s)
    return run


HOLD_S = 10.0         # blue-green: green is tested on the preview this long before the switch


def blue_green_release(lab, image: str = NEW, *, hold_s: float = HOLD_S, lead_s: float = LEAD_S,
                       tail_s: float = TAIL_S):
    """From an empty database, the shop as blue (5.0), then ``image`` by blue-green.

    releaselab.strategies.blue_green: green gets the image; once it is
    available, orders traffic tests it through web-preview for ``hold_s``
    seconds (lab 02's practice: no switch before green is seen to work; 0
    skips the test); then the active Service switches, and blue goes 30 s
    later.  Returns ``(run, result)``.
    """
    from ..strategies import blue_green

    def smoke_test(lab) -> Verdict:
        with lab.traffic(rps=RPS, target="web-preview", users=5, workload="orders") as smoke:
            lab.wait(hold_s)
        if smoke.failed or smoke.lost:
            return failed(f"green failed {smoke.failed} of {smoke.sent} test requests")
        return passed(f"green answered {smoke.sent} test requests, none failed")

    start_data(lab)
    deploy(lab, BLUE_GREEN)
    with lab.traffic(rps=RPS, users=USERS, workload="orders") as run:
        lab.wait(lead_s)
        result = blue_green(lab, image_tag(image), preview_service="web-preview",
                            pre_promotion=smoke_test if hold_s > 0 else None)
        lab.wait(tail_s)
    return run, result


# ------------------------------------------------------------------------------ reading runs

def schema_window(run) -> dict:
    """The run's ``schema`` failures: how many, from when to when, by version and by op."""
    bad = [q for q in run.requests if q.error == SCHEMA]
    if not bad:
        return {"failed": 0, "first": None, "last": None, "seconds": 0.0,
                "versions": Counter(), "ops": Counter()}
    first, last = bad[0].t, bad[-1].t
    return {"failed": len(bad), "first": round(first, 2), "last": round(last, 2),
            "seconds": round(last - first, 2), "versions": Counter(q.version for q in bad),
            "ops": Counter(q.op for q in bad)}


def explain(run) -> list[str]:
    """One line per kind of failure and of data lost in ``run``, most frequent first."""
    lines = []
    causes = Counter((q.cause, q.version, q.op) for q in run.requests if not q.ok)
    for (cause, version, op), n in causes.most_common():
        what = {"write": "order writes", "read": "order reads", "me": "GET /me",
                "login": "logins"}.get(op, "requests")
        lines.append(f"{n} {what} answered {cause} by {version or 'no pod'}")
    lost = Counter((o.why or "?") for o in run.orders if o.lost)
    for why, n in lost.most_common():
        lines.append(f"{n} orders lost: {why}")
    return lines


def _figures(run) -> str:
    return (f"{run.failed} failed of {run.sent}, {run.lost} of {len(run.orders)} orders lost")


def _sim(seed: int):
    from ..lab import Lab

    return Lab("sim", seed=seed, echo=False)


# ------------------------------------------------------------------------------ exercise 1

OPS = ("write", "read")


def check_prediction(version, ops, seconds, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The naive release (5.0 → 5.1, which migrates to schema 4 at start) under orders traffic:
    which version's answers fail (``version``), which requests (``ops``: writes, reads or
    both) and for about how long (``seconds``)."""
    if unanswered(version, ops, seconds):
        return missing("set failing_version, failing_ops and failing_seconds")
    if version not in (OLD, NEW):
        return failed(f"failing_version is {OLD!r} or {NEW!r}, not {version!r}")
    if isinstance(ops, str):
        ops = {ops}
    try:
        ops = {str(o).rstrip("s") for o in ops}
    except TypeError:
        return failed(f"failing_ops is a set of 'write' and/or 'read', not {ops!r}")
    if not ops or not ops <= set(OPS):
        return failed(f"failing_ops is a set of 'write' and/or 'read', not {sorted(ops)}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
            not 0 <= seconds < 3600:
        return failed(f"failing_seconds is a number of seconds, not {seconds!r}")
    windows = []
    for seed in seeds:
        run, results = run_plan(_sim(seed), [NEW])
        windows.append((schema_window(run), results[0]))
    versions = set().union(*(w["versions"] for w, _ in windows))
    failing_ops = set().union(*(w["ops"] for w, _ in windows))
    spans = [w["seconds"] for w, _ in windows]
    low, high = min(spans), max(spans)
    tolerance = max(2.0, 0.25 * high)
    counts = ", ".join(str(w["failed"]) for w, _ in windows)
    rollout = windows[0][1].seconds
    measured = (f"measured over seeds {', '.join(map(str, seeds))}: {counts} requests failed "
                f"with cause schema, answered by {', '.join(sorted(versions))}, "
                f"{' and '.join(sorted(failing_ops))}s, for {low:.1f}–{high:.1f} s "
                f"(the rollout took {rollout:.1f} s)")
    wrong = []
    if {version} != versions:
        wrong.append(f"it is {', '.join(sorted(versions))} that fails: the first 5.1 pod "
                     "migrates the database to schema 4 when it starts — customer_name is "
                     "gone — and every 5.0 pod still serving writes and reads that column; "
                     "5.1 itself fits the new schema")
    if ops != failing_ops:
        wrong.append(f"both writes (INSERT ... customer_name) and reads (SELECT "
                     f"customer_name ...) of 5.0 fail, not only {' and '.join(sorted(ops))}s")
    if not low - tolerance <= seconds <= high + tolerance:
        wrong.append(f"{seconds:g} s is off: the failures start when the first new pod "
                     f"migrates and end when kube-proxy stops sending to the last old one — "
                     f"about the whole rollout, {low:.1f}–{high:.1f} s here")
    if wrong:
        return failed(measured + ". " + "; ".join(wrong))
    return passed(measured + f". Your prediction ({version}, {' and '.join(sorted(ops))}s, "
                  f"{seconds:g} s) fits.")


# ------------------------------------------------------------------------------ exercise 2

def _final_schema(steps) -> int:
    version = 1                                   # 5.0 created the table (MIGRATE=1)
    for tag, migrate in steps:
        m = migrate if migrate is not None else int(baked(tag).get("MIGRATE", 0))
        version = max(version, m)
    return version


def check_plan(plan, seeds: Iterable[int] = SEEDS) -> Verdict:
    """An expand/contract plan: from 5.0 on schema 1 to 5.1 on schema 4 with 0 failed requests
    and 0 orders lost, on every seed."""
    if unanswered(plan) or (isinstance(plan, (list, tuple)) and any(
            unanswered(*(s if isinstance(s, (list, tuple)) else (s,))) for s in plan)):
        return missing("set plan to a list of releases, e.g. [('5.1-both', 2), ...]")
    try:
        steps = normalize_plan(plan)
    except ReleaseLabError as exc:
        return failed(str(exc))
    runs = []
    for seed in seeds:
        try:
            run, results = run_plan(_sim(seed), steps)
        except ReleaseLabError as exc:
            return failed(f"the plan did not run through: {exc}")
        runs.append((seed, run, results))
    shown = " → ".join(f"{t.split(':')[1]} (MIGRATE={m if m is not None else 'its own'})"
                       for t, m in steps)
    figures = "; ".join(f"seed {s}: {_figures(r)}" for s, r, _ in runs)
    stalled = [(s, i) for s, _, results in runs for i, r in enumerate(results, 1)
               if not r.complete]
    if stalled:
        return failed(f"{shown}: release {stalled[0][1]} never completed (seed {stalled[0][0]}): "
                      "its pods did not become ready — did their migration fail?")
    bad = [(s, r) for s, r, _ in runs if r.failed or r.lost]
    end_schema, last = _final_schema(steps), steps[-1][0].split(":")[1]
    if bad:
        why = "; ".join(explain(bad[0][1])[:4])
        return failed(f"{shown}: {figures}. Seed {bad[0][0]}: {why}. "
                      + _plan_hint(bad[0][1]))
    if end_schema < LATEST_SCHEMA or last != NEW:
        left = [] if last == NEW else [f"the shop ends on {last}, not {NEW}"]
        if end_schema < LATEST_SCHEMA:
            left.append(f"the database ends on schema {end_schema}: the old column is still "
                        "there — contract (schema 4) is part of the job")
        return failed(f"{shown}: {figures} — safe, but not done: " + "; ".join(left))
    return passed(f"{shown}: {figures} — zero failed requests and no order lost, on every seed")


def _plan_hint(run) -> str:
    causes = Counter((q.version, q.op) for q in run.requests if q.error == SCHEMA)
    lost = [o for o in run.orders if o.lost]
    if lost:
        writers = Counter(o.version for o in lost)
        return (f"The lost orders were written by {', '.join(sorted(writers))} after the "
                "backfill had run: code that writes only customer_name was still serving when "
                "the data was copied, so its later rows never got first_name/last_name, and "
                "the contract dropped the only column that had their names. Backfill only "
                "once every pod writes both.")
    if any(version == OLD for version, _ in causes):
        return ("5.0 writes and reads customer_name only: any release that runs beyond the "
                "expand (schema 2) while 5.0 pods still serve breaks them. First a release "
                "whose code works with schema 1 AND the expanded schema.")
    if any(version == BOTH for version, _ in causes):
        return ("5.1-both still writes customer_name: the contract (schema 4) must wait until "
                "no 5.1-both pod serves — a release of its own, after 5.1 is everywhere.")
    if causes:
        return ("5.1 writes and reads first_name/last_name only: it needs schema 2 at least "
                "before its first request.")
    return "Failed requests that are not schema errors: see the causes above."


# ------------------------------------------------------------------------------ exercise 3

def _session_runs(env: Optional[dict], seeds, sticky: bool = True):
    return [(seed, session_rollout(_sim(seed), env=env, sticky=sticky)) for seed in seeds]


def check_logouts(users_logged_out, more_than_once, seeds: Iterable[int] = SEEDS) -> Verdict:
    """Predict, for a rolling update of 4 pods with sessions in memory and sticky sessions,
    how many of the 20 users are logged out, and whether some are logged out more than once."""
    if unanswered(users_logged_out, more_than_once):
        return missing("set users_logged_out (a number of users) and more_than_once "
                       "(True or False)")
    if isinstance(users_logged_out, bool) or not isinstance(users_logged_out, int) or \
            not 0 <= users_logged_out <= USERS:
        return failed(f"users_logged_out is a whole number of users from 0 to {USERS}, "
                      f"not {users_logged_out!r}")
    if not isinstance(more_than_once, bool):
        return failed(f"more_than_once is True or False, not {more_than_once!r}")
    runs = _session_runs(None, seeds)
    counts = [run.logged_out for _, run in runs]
    twice = [sum(1 for n in Counter(x.user for x in run.logouts).values() if n > 1)
             for _, run in runs]
    measured = (f"measured over seeds {', '.join(str(s) for s, _ in runs)}: "
                f"{', '.join(map(str, counts))} of {USERS} users logged out; "
                f"{', '.join(map(str, twice))} of them more than once")
    wrong = []
    if not min(counts) <= users_logged_out <= max(counts):
        wrong.append(f"{users_logged_out} users is off: a rolling update replaces EVERY pod, "
                     "and each user's session lived in one of them — when it goes, so does "
                     "the session")
    if more_than_once != any(twice):
        wrong.append("some users ARE logged out twice: after losing their pod they log in "
                     "again on another pod — an old one, still to be replaced, half of the time"
                     if any(twice) else "nobody is logged out twice here")
    if wrong:
        return failed(measured + ". " + "; ".join(wrong))
    return passed(measured + ". Right: sticky sessions keep a user on its pod only until the "
                  "rollout replaces that pod.")


def check_session_fix(env, seeds: Iterable[int] = SEEDS) -> Verdict:
    """``env`` for the shop (e.g. {"SESSION_STORE": ...}) so that a rolling update logs no
    user out and fails no request."""
    if unanswered(env) or (isinstance(env, dict) and unanswered(*env.values())):
        return missing("set fix_env to the environment variables that fix it, "
                       "e.g. {'SESSION_STORE': ...}")
    if not isinstance(env, dict) or not all(isinstance(k, str) for k in env):
        return failed(f"fix_env is a dict of variable names to values, not {env!r}")
    try:
        runs = _session_runs(env, seeds)
    except ReleaseLabError as exc:
        return failed(f"the shop did not start with {env}: {exc}")
    figures = "; ".join(f"seed {s}: {r.logged_out} users logged out, {r.failed} of {r.sent} "
                        f"requests failed" for s, r in runs)
    bad = [(s, r) for s, r in runs if r.logged_out or r.failed]
    if not bad:
        store = env.get("SESSION_STORE", "memory")
        how = ("in Redis, which every pod shares and no release replaces"
               if str(store).startswith("redis") else "in the cookie itself, signed with a "
               "secret every pod shares" if store == "token" else "outside the pods")
        return passed(f"{figures} — the sessions live {how}")
    seed, run = bad[0]
    causes = Counter(q.cause for q in run.requests if not q.ok)
    hint = ("the sessions still live in each pod's memory" if causes.get(LOGGED_OUT)
            else "see the causes")
    if causes.get("store_unavailable"):
        hint = "the app cannot reach that session store: is the URL the Service redis, port 6379?"
    return failed(f"{figures}. Seed {seed}: " + ", ".join(f"{n} {c}" for c, n in
                                                          causes.most_common()) + f" — {hint}")


# ------------------------------------------------------------------------------ exercise 4

STRATEGIES = ("rolling", "blue-green")


def _strategy_of(run) -> Optional[str]:
    deployments = {(run.lab.timeline.pod(q.pod).deployment if q.pod and
                    run.lab.timeline.pod(q.pod) else None) for q in run.requests if q.ok}
    if deployments >= {"web-blue", "web-green"}:
        return "blue-green"
    if "web" in deployments:
        return "rolling"
    return None


def check_choice(choice, evidence, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The naive 5.1 must ship today: ``choice`` ("rolling" or "blue-green") fails fewer
    requests, and ``evidence`` = {"rolling": run, "blue-green": run} are your runs showing it."""
    if unanswered(choice, evidence) or (isinstance(evidence, dict)
                                        and unanswered(*evidence.values())):
        return missing("run both releases, then set choice and evidence = {'rolling': "
                       "rolling_run, 'blue-green': blue_green_run}")
    if choice not in STRATEGIES:
        return failed(f"choice is 'rolling' or 'blue-green', not {choice!r}")
    if not isinstance(evidence, dict) or set(evidence) != set(STRATEGIES):
        return failed("evidence is a dict with exactly the keys 'rolling' and 'blue-green', "
                      "each the TrafficRun of that release")
    yours = {}
    for name, run in evidence.items():
        if not hasattr(run, "requests") or not hasattr(run, "orders"):
            return failed(f"evidence[{name!r}] is not a TrafficRun (the `as run` of "
                          "`with lab.traffic(...)`)")
        if not any(q.op in ("write", "read") for q in run.requests):
            return failed(f"evidence[{name!r}] has no order requests: run it with "
                          "traffic(users=..., workload='orders'), as the helpers do")
        seen = _strategy_of(run)
        if seen != name:
            return failed(f"evidence[{name!r}] looks like a {seen or 'different'} release "
                          "(which Deployments answered): pass each run under its own name")
        if not any(q.version == NEW for q in run.requests if q.ok):
            return failed(f"in evidence[{name!r}] no request was answered by {NEW}: the "
                          "release did not happen inside the traffic")
        yours[name] = run
    better = min(STRATEGIES, key=lambda n: yours[n].failed)
    numbers = (f"your runs: rolling {yours['rolling'].failed} failed of "
               f"{yours['rolling'].sent}, blue-green {yours['blue-green'].failed} failed of "
               f"{yours['blue-green'].sent}")
    if yours["rolling"].failed == yours["blue-green"].failed:
        return failed(numbers + " — a tie proves nothing; run each release with traffic "
                      "from before it starts until after it ends")
    if choice != better:
        return failed(numbers + f": by your own numbers {better} failed fewer")
    again = {"rolling": [run_plan(_sim(s), [NEW])[0].failed for s in seeds],
             "blue-green": [blue_green_release(_sim(s))[0].failed for s in seeds]}
    if max(again[choice]) >= min(again[next(n for n in STRATEGIES if n != choice)]):
        return failed(numbers + f"; but measured again over seeds "
                      f"{', '.join(map(str, seeds))}: rolling {again['rolling']}, blue-green "
                      f"{again['blue-green']} — your runs were not typical")
    window = {n: schema_window(yours[n]) for n in STRATEGIES}
    return passed(
        numbers + f"; again over seeds {', '.join(map(str, seeds))}: rolling "
        f"{again['rolling']}, blue-green {again['blue-green']}. Blue-green failed every order "
        f"request for {window['blue-green']['seconds']:.1f} s (green's first pod migrated "
        f"while blue still had all users); rolling failed only the share routed to old pods, "
        f"for {window['rolling']['seconds']:.1f} s. Neither is zero: only expand/contract is.")
