"""Checkers for lab 05, "Two versions at once" (schema changes and sessions during a release).

A rolling update and a blue-green switch both run two versions of the app
against ONE database and one set of user sessions.  Every checker measures
what that costs the shop's users — requests that fail because code and
schema do not fit (cause ``schema``), orders confirmed and later missing or
wrong (**data lost**), users whose session vanished (**logged out**) — with
the traffic of :mod:`releaselab.workload`: 20 users taking turns, 20
requests per second in all (30 and 30 in 05.3 and 05.4).

=====  ==========================  ===============================================
05.1   ``check_prediction``        which requests the naive release fails, and how long
05.2   ``check_plan``              an expand/contract plan in 3 releases: 0 failed, 0 lost
05.3   ``check_logouts``           how many users a rolling update logs out (memory sessions)
05.4   ``check_session_fix``       the env that logs nobody out
05.5   ``check_choice``            blue-green or rolling for the naive release, with your runs
=====  ==========================  ===============================================

Each exercise has a shop of its own, not the one the chapter measures
(``book/two-versions.md``: web.yaml's 4 replicas, maxSurge 1, maxUnavailable 0,
20 users), so that no number the chapter prints answers it: the chapter shows
the method on its example, the lab asks it of another (``NAIVE_SHOP``,
``SESSION_SHOP``, ``CHOICE_HOLD_S``; tests/unit/test_checks_two_versions.py
feeds the chapter's figures to the checkers and expects a ❌).

05.1–05.4 simulate the reader's answer with ``Lab("sim", seed=s)`` for the
seeds in ``SEEDS``, whatever RELEASELAB_BACKEND says; 05.5 judges the
reader's own two runs (on either backend) and then measures both releases
again on the simulator.  Each builds fresh Labs, so it can be re-run alone
with the same verdict.  A verdict says what was measured and why it misses;
the hint and then the fix come on request (:func:`releaselab.checks.hint`,
where the kit has it).  The procedures the lab uses (``tv.run_plan`` ...)
are re-exported from :mod:`._shop`.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections import Counter
from typing import Any, Iterable, Optional

from ..errors import ReleaseLabError
from .._plural import plural
from ..timeline import LOGGED_OUT, SCHEMA
from ._core import Verdict, exercise, failed, missing, passed, unanswered
from ._shop import (BLUE_GREEN, BOTH, HOLD_S, LATEST_SCHEMA, LEAD_S, NEW, OLD, REDIS_URL, RPS,
                    TAIL_S, USERS, WARMUP_S, WEB, baked, blue_green_release, deploy, explain,
                    image_tag, normalize_plan, release, run_plan, schema_window,
                    session_rollout, start_data, variant)

__all__ = ["check_prediction", "check_plan", "check_logouts", "check_session_fix",
           "NAIVE_SHOP", "SESSION_SHOP", "SESSION_USERS", "CHOICE_HOLD_S",
           "check_choice", "compatibility_table", "start_data", "deploy", "variant", "release", "run_plan",
           "session_rollout", "blue_green_release", "schema_window", "explain", "image_tag",
           "baked", "normalize_plan", "SEEDS", "RPS", "USERS", "LEAD_S", "TAIL_S", "WARMUP_S",
           "HOLD_S", "WEB", "BLUE_GREEN", "REDIS_URL", "OLD", "NEW", "BOTH", "LATEST_SCHEMA"]

SEEDS = (1, 2, 3)
#: 05.1 and 05.5: the naive release on a shop grown to 8 replicas (maxSurge 1,
#: maxUnavailable 0 as in web.yaml).  Twice the chapter's waves, so its
#: schema failures last about twice as long: 25.6–25.8 s on seeds 1–3, where
#: the chapter prints 12.7 s for its 4 replicas (its rollout: 13.0 s).
NAIVE_SHOP = {"replicas": 8}
#: 05.3 and 05.4: sticky sessions in memory, 30 users (30 requests per second),
#: and a rollout that starts every new pod at once (maxSurge 100 %): all 30
#: users are logged out, and none twice — after losing its pod a user can only
#: land on a new one, since the old pods all go together — where the chapter's
#: one-by-one rollout logs its 20 users out and some of them twice.
SESSION_SHOP = {"max_surge": "100%", "max_unavailable": 0}
SESSION_USERS = 30
#: 05.5: on NAIVE_SHOP, green is tested this long on the preview before the
#: switch (the chapter: 10 s on 4 replicas, where rolling fails fewer).  On
#: seeds 1–3: rolling 292, 269, 285 failed; blue-green 184 — the other order.
CHOICE_HOLD_S = 5.0
WEB_DEPLOYMENT = "web"
#: Exercise 05.2 asks for the plan in this many releases.  The chapter's worked
#: example takes four, one step each (expand, migrate the data, switch the code,
#: contract); two of them can share a release, and finding which is the exercise.
MAX_RELEASES = 3
STRATEGIES = ("rolling", "blue-green")
OPS = ("write", "read")

def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _quietly(fn, *args, **kwargs):
    """A measured procedure without its kubectl lines, notes and strategy lines."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def _sim(seed: int):
    from ..lab import Lab

    return Lab("sim", seed=seed, echo=False)


def _figures(run) -> str:
    return f"{run.failed} of {run.sent} requests failed, {run.lost} of {len(run.orders)} orders lost"


def _seeds(seeds: Iterable[int]) -> str:
    return ", ".join(map(str, seeds))


def _span(low: float, high: float) -> str:
    return f"{low:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f}"


# ------------------------------------------------------------------------------ the table

def compatibility_table():
    """Which code works on which schema version: "write / read" per SCHEMA and version.

    ✓ works; ✗ fails with a schema error (*column … does not exist*); *wrong*:
    the read answers, but not with what was written.  Computed from the
    simulator's database model, which the kit's tests hold equal, statement by
    statement, to a real PostgreSQL.  The database holds one order that 5.0
    wrote on schema 1 before it was migrated.
    """
    import pandas as pd

    from ..sim.database import COLUMNS, Database, SQLError

    def outcome(schema: str, version: int) -> str:
        db = Database()
        db.migrate(1)
        db.write_order("name", "Grace Brewster Hopper", "tea")
        db.migrate(version)
        marks = []
        for act in (lambda: db.write_order(schema, "Ada Lovelace", "mug") is not None,
                    lambda: (db.read_order(schema, 1) or {}).get("customer")
                    == "Grace Brewster Hopper"):
            try:
                marks.append("✓" if act() else "wrong")
            except SQLError:
                marks.append("✗")
        return " / ".join(marks)

    table = pd.DataFrame({f"schema {v}": {s: outcome(s, v) for s in COLUMNS}
                          for v in range(1, LATEST_SCHEMA + 1)})
    table.index.name = "SCHEMA (write / read)"
    return table


# ------------------------------------------------------------------------------ 05.1

HINT_05_1 = 'read the table of which SCHEMA works on which schema version'


@exercise("05.1", "predict what the naive migration breaks", hint=HINT_05_1,
          fix="failing_version = '5.0', failing_ops = {'write', 'read'}, failing_seconds ≈ "
              "how long 5.0 pods serve after 5.1 migrated: the rollout's length, waves × the "
              "time per wave of this shop")
def check_prediction(version, ops, seconds, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The naive release (5.0 → 5.1, which migrates to schema 4 at start) on the shop of
    ``NAIVE_SHOP`` (8 replicas) under orders traffic: which version's answers fail
    (``version``), which requests (``ops``: a set of "write" and/or "read") and for about
    how long (``seconds``)."""
    if unanswered(version, ops, seconds):
        return missing("set failing_version, failing_ops and failing_seconds",
                       hint=HINT_05_1)
    if version not in (OLD, NEW):
        return failed(f"failing_version is {OLD!r} or {NEW!r}, not {version!r}")
    ops = {ops} if isinstance(ops, str) else ops
    if not isinstance(ops, (set, frozenset, list, tuple)) or not ops or \
            not {str(o).rstrip("s") for o in ops} <= set(OPS):
        return failed(f"failing_ops is a set of 'write' and/or 'read', not {ops!r}")
    ops = {str(o).rstrip("s") for o in ops}
    if not _is_number(seconds) or not 0 <= seconds < 3600:
        return failed(f"failing_seconds is a number of seconds from 0 to 3600, not {seconds!r}")
    seeds = tuple(seeds)
    measured = [_quietly(run_plan, _sim(seed), [NEW], **NAIVE_SHOP) for seed in seeds]
    windows = [schema_window(run) for run, _ in measured]
    versions = set().union(*(w["versions"] for w in windows))
    failing = set().union(*(w["ops"] for w in windows))
    spans = [w["seconds"] for w in windows]
    low, high = min(spans), max(spans)
    rollout = measured[0][1][0].seconds
    report = (f"measured over seeds {_seeds(seeds)}: "
              f"{', '.join(str(w['failed']) for w in windows)} requests failed with cause "
              f"schema, all answered by {', '.join(sorted(versions))}, "
              f"{' and '.join(sorted(o + 's' for o in failing))} alike, for "
              f"{_span(low, high)} s (the rollout took {rollout:.1f} s)")
    misses = []
    if {version} != versions:
        misses.append(f"you said {version}: its code fits the schema it migrates to")
    if ops != failing:
        misses.append(f"you said {' and '.join(sorted(ops))}s only")
    tolerance = max(2.0, 0.25 * high)
    if not low - tolerance <= seconds <= high + tolerance:
        misses.append(f"you said {seconds:g} s")
    if misses:
        return failed(
            report + " — " + "; ".join(misses),
            hint="the migration runs when the FIRST new pod starts, before it is ready; which "
                 "pods keep getting requests after that, and until when?",
            fix=f"failing_version = {OLD!r}, failing_ops = {{'write', 'read'}}, "
                f"failing_seconds ≈ {round((low + high) / 2)}: every 5.0 pod names "
                "customer_name in its INSERT and its SELECT, and kube-proxy sends them "
                "requests until the last one leaves the Service — the whole rollout")
    return passed(report + f". Your prediction ({version}, "
                  f"{' and '.join(sorted(o + 's' for o in ops))}, "
                  f"{seconds:g} s) fits: the first 5.1 pod migrated when it started, and every "
                  "5.0 pod still serving failed until the rollout had replaced it.")


# ------------------------------------------------------------------------------ 05.2

def _final_schema(steps) -> int:
    version = 1                                   # 5.0 created the table (MIGRATE=1)
    for tag, migrate in steps:
        m = migrate if migrate is not None else int(baked(tag).get("MIGRATE", 0))
        version = max(version, m)
    return version


def _rollouts(run) -> int:
    """How many rolling updates ``run`` saw: ReplicaSets of web scaled up from 0 while it ran.

    A release that changes nothing (the same image and MIGRATE as the one before)
    starts no rollout and is not counted; ("5.0", 1) as a first release is one,
    because it adds MIGRATE to a pod template that had none.
    """
    return sum(1 for step in run.lab.timeline.rs_steps
               if step.deployment == WEB_DEPLOYMENT and step.from_ == 0 and step.to > 0
               and run.start <= step.t <= (run.end if run.end is not None else step.t))


def _plan_text(steps) -> str:
    return " → ".join(f"{t.split(':')[1]} (MIGRATE={m if m is not None else 'its own'})"
                      for t, m in steps)


def _plan_placeholder(plan) -> bool:
    if unanswered(plan):
        return True
    return isinstance(plan, (list, tuple)) and any(
        unanswered(*(s if isinstance(s, (list, tuple)) else (s,))) for s in plan)


HINT_05_2 = (f"the same four migrations, spread over at most {MAX_RELEASES} "
             "releases so that every release leaves a schema both running versions can use")


@exercise("05.2", "an expand/contract plan in three releases", cells=("ex2-run",), hint=HINT_05_2,
          fix="plan = [('5.1-both', 2), ('5.1', 3), ('5.1', 4)]: expand, backfill with "
              "the release that brings 5.1, contract last")
def check_plan(plan, seeds: Iterable[int] = SEEDS) -> Verdict:
    """An expand/contract plan: from 5.0 on schema 1 to 5.1 on schema 4 with 0 failed requests
    and 0 orders lost, on every seed, in at most ``MAX_RELEASES`` releases (the chapter's
    worked example takes four).  Simulates the plan with ``Lab("sim")``."""
    if _plan_placeholder(plan):
        return missing("set plan to a list of releases, e.g. [('5.1-both', 2), ...]",
                       hint=f"the same four migrations, spread over at most {MAX_RELEASES} "
                            "releases so that every release leaves a schema both running "
                            "versions can use")
    try:
        steps = normalize_plan(plan)
    except ReleaseLabError as exc:
        return failed(str(exc))
    last = steps[-1][0].split(":")[1]
    if last != NEW:
        # Judged before running: a plan that ends elsewhere answers another question, and
        # what it measures (a plan ending on 5.0 loses every order 5.1 wrote) would read
        # as a fault of its middle releases.
        return failed(f"your plan ends on {last}: the exercise ends with {NEW} running on "
                      f"schema {LATEST_SCHEMA}, so a plan's last release brings {NEW}")
    seeds = tuple(seeds)
    runs = []
    for seed in seeds:
        try:
            run, results = _quietly(run_plan, _sim(seed), steps)
        except ReleaseLabError as exc:
            return failed(f"{_plan_text(steps)} did not run through: {exc}")
        runs.append((seed, run, results))
    shown = _plan_text(steps)
    figures = "; ".join(f"seed {s}: {_figures(r)}" for s, r, _ in runs)
    stalled = [(s, i) for s, _, results in runs for i, r in enumerate(results, 1)
               if not r.complete]
    if stalled:
        return failed(f"{shown}: release {stalled[0][1]} never completed (seed {stalled[0][0]}): "
                      "its pods did not become ready",
                      hint="a pod whose MIGRATE cannot run crash-loops: look at lab.pods()")
    bad = [(s, r) for s, r, _ in runs if r.failed or r.lost]
    if bad:
        seed, run = bad[0]
        why, hint_text = _plan_diagnosis(run)
        return failed(f"{shown}: {figures}. Seed {seed}: " + "; ".join(explain(run)[:4])
                      + f" — {why}", hint=hint_text,
                      fix="[('5.1-both', 2), ('5.1', 3), ('5.1', 4)]: expand while 5.0 runs "
                          "(5.1-both fits schemas 1–3), backfill once 5.0 no longer writes "
                          "(5.1-both and 5.1 both write the name parts), contract once only "
                          "5.1 runs")
    end_schema, last = _final_schema(steps), steps[-1][0].split(":")[1]
    if end_schema < LATEST_SCHEMA or last != NEW:
        left = [] if last == NEW else [f"the shop ends on {last}, not {NEW}"]
        if end_schema < LATEST_SCHEMA:
            left.append(f"the database ends on schema {end_schema}: customer_name is still "
                        "there")
        return failed(f"{shown}: {figures} — safe, but not finished: " + "; ".join(left),
                      hint="the job is done when 5.1 runs everywhere on schema 4 (contract)")
    rollouts = max(_rollouts(r) for _, r, _ in runs)
    if rollouts > MAX_RELEASES:
        seconds = sum(r.seconds for r in runs[0][2])
        return failed(f"{shown}: {figures} — safe and finished, but in {rollouts} rolling "
                      f"updates ({seconds:.0f} s of releasing on seed {runs[0][0]}); the "
                      f"exercise asks for {MAX_RELEASES}",
                      hint="a migration can share a release with a change of code when every "
                           "version running during that rollout — the old pods and the new — "
                           "can use the schema it leaves and writes every column it needs; "
                           "which of your migrations has such a rollout?",
                      fix="[('5.1-both', 2), ('5.1', 3), ('5.1', 4)]: the backfill rides on the "
                          "release that brings 5.1, because during that rollout only 5.1-both "
                          "and 5.1 write orders, and both write first_name and last_name")
    return passed(f"{shown}: {figures} — zero failed requests and no order lost on every "
                  f"seed ({_seeds(seeds)}) in {rollouts} rolling updates, and the shop ends on {NEW} "
                  "with schema 4")


def _plan_diagnosis(run) -> tuple[str, str]:
    """(why it misses, a hint) from what failed in ``run``."""
    failing = Counter(q.version for q in run.requests if q.error == SCHEMA)
    lost = [o for o in run.orders if o.lost]
    if lost:
        writers = ", ".join(sorted({o.version for o in lost}))
        first = min(o.t for o in lost)
        return (f"the lost orders were all written by {writers}, the first at "
                f"{first:.1f} s, after the backfill had run",
                "which version was still writing orders when the backfill ran, and which "
                "columns does it write?")
    if failing:
        versions = ", ".join(sorted(failing))
        return (f"the schema failures are {versions}'s: a release migrated the database past "
                "what that code can use while it was still serving",
                f"look at the table of which SCHEMA works on which schema version: where must "
                f"the database stay while {versions} runs?")
    if any(q.error == "wrong_data" for q in run.requests):
        return ("orders were read back without their name while two versions wrote different "
                "columns", "one version must write both the old and the new columns")
    return ("requests failed for another reason than the schema", "see the causes above")


# ------------------------------------------------------------------------------ 05.3, 05.4

def _session_runs(env: Optional[dict], seeds, sticky: bool = True):
    """05.3's and 05.4's rolling update: ``SESSION_SHOP`` under ``SESSION_USERS`` users."""
    return [(seed, _quietly(session_rollout, _sim(seed), env=env, sticky=sticky,
                            users=SESSION_USERS, rps=SESSION_USERS, **SESSION_SHOP))
            for seed in seeds]


HINT_05_3 = "where does a user's session live, and what does a rolling update do to every pod?"


@exercise("05.3", "count the users a rolling update logs out", cells=("ex3-run",), hint=HINT_05_3,
          fix="users_logged_out = every user whose pod was replaced (every pod is); "
              "more_than_once = True only if a user's new pod was itself replaced later in "
              "the same rollout — count both in the run of the cell above")
def check_logouts(users_logged_out, more_than_once, seeds: Iterable[int] = SEEDS) -> Verdict:
    """For the rolling update of ``SESSION_SHOP`` (4 pods, maxSurge 100 %) with sessions in
    memory and sticky sessions: how many of the ``SESSION_USERS`` users are logged out, and
    are some logged out more than once?"""
    if unanswered(users_logged_out, more_than_once):
        return missing("set users_logged_out (a number of users) and more_than_once "
                       "(True or False)",
                       hint=HINT_05_3)
    if isinstance(users_logged_out, bool) or not isinstance(users_logged_out, int) or \
            not 0 <= users_logged_out <= SESSION_USERS:
        return failed(f"users_logged_out is a whole number of users from 0 to {SESSION_USERS}, "
                      f"not {users_logged_out!r}")
    if not isinstance(more_than_once, bool):
        return failed(f"more_than_once is True or False, not {more_than_once!r}")
    seeds = tuple(seeds)
    runs = _session_runs(None, seeds)
    counts = [run.logged_out for _, run in runs]
    twice = [sum(1 for n in Counter(x.user for x in run.logouts).values() if n > 1)
             for _, run in runs]
    report = (f"measured over seeds {_seeds(seeds)}: {', '.join(map(str, counts))} of "
              f"{SESSION_USERS} "
              f"users logged out; {', '.join(map(str, twice))} of them more than once")
    misses = []
    if not min(counts) <= users_logged_out <= max(counts):
        misses.append(f"you said {users_logged_out}")
    if more_than_once != any(twice):
        misses.append(f"you said more_than_once={more_than_once}")
    again = ("a user who logged in again on an old pod lost it once more" if any(twice) else
             "the old pods all went at once, so a user who logged in again landed on a new "
             "pod and kept that session")
    if misses:
        return failed(report + " — " + "; ".join(misses),
                      hint="a rolling update replaces EVERY pod; and a user who lost its pod "
                           "logs in again — on which pod? (is any old pod left then?)",
                      fix=f"users_logged_out = {counts[0]}, more_than_once = {any(twice)}: each "
                          f"session lived in one pod, every pod was replaced, and {again}")
    return passed(report + ". Right: sticky sessions keep a user on its pod only until the "
                  f"rollout replaces that pod, and it replaces every one; {again}.")


HINT_05_4 = ('cluster/app/README.md lists where a session can live, and which host a Service '
             'name gives')


@exercise("05.4", "a release that logs nobody out", cells=("ex4-run",), hint=HINT_05_4,
          fix=f"fix_env = {{'SESSION_STORE': {REDIS_URL!r}}}: sessions in the Service redis "
              "of data/redis.yaml, which outlives every web pod")
def check_session_fix(env, seeds: Iterable[int] = SEEDS) -> Verdict:
    """``env`` for the shop (e.g. {"SESSION_STORE": ...}) so that a rolling update logs no
    user out and fails no request."""
    if unanswered(env) or (isinstance(env, dict) and unanswered(*env.values())):
        return missing("set fix_env to the environment variables that fix it, "
                       "e.g. {'SESSION_STORE': ...}",
                       hint="cluster/app/README.md lists where a session can live")
    if not isinstance(env, dict) or not env or not all(isinstance(k, str) for k in env):
        return failed(f"fix_env is a non-empty dict of variable names to values, not {env!r}")
    seeds = tuple(seeds)
    try:
        runs = _session_runs(env, seeds)
    except ReleaseLabError as exc:
        return failed(f"the shop did not start with {env}: {exc}")
    figures = "; ".join(f"seed {s}: {plural(r.logged_out, 'user')} logged out, "
                        f"{r.failed} of {r.sent} "
                        f"requests failed" for s, r in runs)
    bad = [(s, r) for s, r in runs if r.logged_out or r.failed]
    if not bad:
        store = str(env.get("SESSION_STORE", "memory"))
        how = ("in Redis, which every pod shares and no release replaces"
               if store.startswith("redis") else "in the cookie itself, signed with a secret "
               "every pod shares" if store == "token" else "outside the pods")
        return passed(f"{figures} — the sessions live {how}")
    seed, run = bad[0]
    causes = Counter(q.cause for q in run.requests if not q.ok)
    why = ", ".join(f"{n} {c}" for c, n in causes.most_common())
    if causes.get("store_unavailable"):
        why += " — the app could not reach that session store"
    elif causes.get(LOGGED_OUT):
        why += " — the sessions still live in each pod's memory"
    if causes.get("store_unavailable"):
        store_hint = ("the kind of store can be right and its address wrong: inside the "
                      "cluster a pod reaches another workload by its Service's name "
                      "(data/redis.yaml), not by localhost, which is the pod itself")
    else:
        store_hint = ("a session must live where a release does not replace it: which "
                      "SESSION_STORE values does the README table offer?")
    return failed(f"{figures}. Seed {seed}: {why}", hint=store_hint,
                  fix=f"fix_env = {{'SESSION_STORE': {REDIS_URL!r}}} (the Service redis of "
                      "data/redis.yaml), or {'SESSION_STORE': 'token', 'SESSION_SECRET': "
                      "'any secret'}")


# ------------------------------------------------------------------------------ 05.5

def _strategy_of(run) -> Optional[str]:
    timeline = run.lab.timeline
    deployments = set()
    for q in run.requests:
        record = timeline.pod(q.pod) if q.ok and q.pod else None
        if record is not None:
            deployments.add(record.deployment)
    if deployments >= {"web-blue", "web-green"}:
        return "blue-green"
    if "web" in deployments:
        return "rolling"
    return None


def _check_evidence(evidence) -> Optional[Verdict]:
    if not isinstance(evidence, dict) or set(evidence) != set(STRATEGIES):
        return failed("evidence is a dict with exactly the keys 'rolling' and 'blue-green', "
                      "each the TrafficRun of that release")
    for name, run in evidence.items():
        if not all(hasattr(run, a) for a in ("requests", "orders", "lab")):
            return failed(f"evidence[{name!r}] is not a TrafficRun (the `as run` of "
                          "`with lab.traffic(...)`)")
        if not any(q.op in OPS for q in run.requests):
            return failed(f"evidence[{name!r}] has no order requests: run it with "
                          "traffic(users=..., workload='orders'), as the lab's helpers do")
        seen = _strategy_of(run)
        if seen != name:
            return failed(f"evidence[{name!r}] was answered like a {seen or 'different'} "
                          "release (by the Deployments its requests reached)")
        answered = {q.version for q in run.requests if q.ok}
        if not {OLD, NEW} <= answered:
            return failed(f"evidence[{name!r}] was answered by {', '.join(sorted(answered))}: "
                          f"the release from {OLD} to {NEW} must happen inside the traffic")
        old_pods = {q.pod for q in run.requests if q.pod and q.version == OLD}
        if len(old_pods) != NAIVE_SHOP["replicas"]:
            return failed(f"evidence[{name!r}] ran on a shop of {len(old_pods)} {OLD} pods: "
                          f"exercise 05.5 asks about the {NAIVE_SHOP['replicas']}-replica shop "
                          f"of 05.1 (replicas={NAIVE_SHOP['replicas']}, as the lab's cells "
                          "run it)")
    return None


HINT_05_5 = 'compare the failed counts of your two runs (requests, not percentages)'


@exercise("05.5", "blue-green or rolling for a schema change",
          cells=("ex5-rolling", "ex5-blue-green", "ex5-plot"), hint=HINT_05_5,
          fix="choice = the strategy whose run has the smaller run.failed, evidence = "
              "{'rolling': rolling_run, 'blue-green': blue_green_run} from the two cells above")
def check_choice(choice, evidence, seeds: Iterable[int] = SEEDS) -> Verdict:
    """The naive 5.1 must ship today on the shop of ``NAIVE_SHOP`` (8 replicas), green tested
    ``CHOICE_HOLD_S`` seconds: ``choice`` ("rolling" or "blue-green") is the release
    that fails fewer requests — the count of failed requests (``run.failed``), not their
    share, since the two runs last different times — and ``evidence`` = {"rolling": run,
    "blue-green": run} are your runs of both."""
    if unanswered(choice, evidence) or (isinstance(evidence, dict)
                                        and unanswered(*evidence.values())):
        return missing("run both releases, then set choice and evidence = {'rolling': "
                       "rolling_run, 'blue-green': blue_green_run}",
                       hint="tv.run_plan(lab, ['5.1'], replicas=8) and "
                            "tv.blue_green_release(lab, hold_s=5, replicas=8) each return the "
                            "run first")
    if choice not in STRATEGIES:
        return failed(f"choice is 'rolling' or 'blue-green', not {choice!r}")
    wrong = _check_evidence(evidence)
    if wrong is not None:
        return wrong
    yours = {name: evidence[name] for name in STRATEGIES}
    numbers = ", ".join(f"{name} {run.failed} failed of {run.sent}"
                        for name, run in yours.items())
    windows = {name: schema_window(run) for name, run in yours.items()}
    shape = (f"blue-green failed every order request for "
             f"{windows['blue-green']['seconds']:.1f} s, from green's migration to the switch; "
             f"rolling failed the old pods' share for {windows['rolling']['seconds']:.1f} s")
    if yours["rolling"].failed == yours["blue-green"].failed:
        return failed(f"your runs: {numbers} — a tie decides nothing",
                      hint="send traffic from before each release starts until after it ends")
    better = min(STRATEGIES, key=lambda name: yours[name].failed)
    if choice != better:
        share = {name: 100 * run.failed / run.sent if run.sent else 0.0
                 for name, run in yours.items()}
        trap = (f" (by share of the requests {choice} did fail less — "
                f"{share[choice]:.1f} % against {share[better]:.1f} % — but its run lasted "
                f"{yours[choice].sent} requests against {yours[better].sent}: the question "
                "counts failed requests, not their share)"
                if share[choice] < share[better] else "")
        return failed(f"your runs: {numbers}; {shape}. By your own numbers {choice} is not "
                      f"the one that failed fewer requests{trap}",
                      hint="compare the failed counts of your two runs, not what you expect")
    seeds = tuple(seeds)
    again = {"rolling": [_quietly(run_plan, _sim(s), [NEW], **NAIVE_SHOP)[0].failed
                         for s in seeds],
             "blue-green": [_quietly(blue_green_release, _sim(s), hold_s=CHOICE_HOLD_S,
                                     **NAIVE_SHOP)[0].failed for s in seeds]}
    other = next(name for name in STRATEGIES if name != choice)
    typical = max(again[choice]) < min(again[other])
    note = (f"Measured again on the simulator with the lab's procedures (seeds {_seeds(seeds)}): "
            f"rolling {again['rolling']}, blue-green {again['blue-green']}")
    return passed(f"your runs: {numbers}; {shape}. {note}"
                  + ("" if typical else " — the lab's procedures give the other order: how "
                     "long green is tested before the switch decides it")
                  + ". Neither is zero: only expand/contract is.")
