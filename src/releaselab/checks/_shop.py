"""Lab 05's procedures: the shop, its data servers, its releases, measured with users.

Written against the public :class:`~releaselab.lab.Lab` only, so the same
calls run on the simulator and on kind.  :mod:`.two_versions` re-exports
them for the lab (``tv.run_plan(...)``) and builds its checkers on them.

``start_data(lab)``            PostgreSQL and Redis (cluster/manifests/data/), empty and ready
``deploy(lab, ...)``           the shop at 5.0 (two-versions/web.yaml), warmed up
``variant(...)``               a copy of the shop's manifest: image, env, sticky sessions
``release(lab, image, m)``     one release: the image and the migration its pods run at start
``run_plan(lab, plan)``        orders traffic across a list of releases; returns (run, results)
``session_rollout(lab, ...)``  a rolling update under logged-in users
``blue_green_release(lab)``    the naive 5.1 by blue-green (releaselab.strategies.blue_green)
``schema_window(run)``         when and where a run's ``schema`` failures were
``explain(run)``               one line per kind of failure and of data lost
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from .. import manifests
from ..errors import NotFoundError, UsageError, WaitTimeout
from .._plural import plural
from ..timeline import SCHEMA
from ._core import Verdict, failed, passed


RPS = 20              # requests per second, all users together
USERS = 20            # one request per user per second
LEAD_S = 8.0          # traffic before the first release: orders to migrate
TAIL_S = 5.0          # traffic after the last release settled
WARMUP_S = 3.0        # after "available", until every app listens (STARTUP_SECONDS 2)
HOLD_S = 10.0         # blue-green: green is tested on the preview this long before the switch
WEB = "two-versions/web.yaml"
BLUE_GREEN = "two-versions/blue-green.yaml"
REDIS_URL = "redis://redis:6379/0"
OLD, NEW, BOTH = "5.0", "5.1", "5.1-both"
LATEST_SCHEMA = 4
_DATA = (("StatefulSet", "postgres"), ("StatefulSet", "redis"),
         ("PersistentVolumeClaim", "data-postgres-0"), ("PersistentVolumeClaim", "data-redis-0"))
_APPS = ("web", "web-blue", "web-green")


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
    if lab.echo:      # kubectl's rollout status takes one object at a time
        print("$ kubectl rollout status statefulset/postgres\n"
              "$ kubectl rollout status statefulset/redis")
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
            sticky: Optional[bool] = None, replicas: Optional[int] = None,
            max_surge=None, max_unavailable=None) -> list[dict]:
    """A copy of a manifest: each Deployment's image and env changed, Service web made sticky.

    ``env``: {NAME: value}; a value None removes the variable.  ``sticky``:
    True adds ``sessionAffinity: ClientIP`` to Service "web", False removes it.
    ``replicas``, ``max_surge``, ``max_unavailable`` (None: the manifest's)
    set every Deployment's size and rolling-update parameters — how lab 05's
    exercises get a shop of their own, not the chapter's 4 replicas with
    maxSurge 1, maxUnavailable 0.  A Deployment scaled to 0 stays at 0.
    """
    objects = manifests.load(source)
    for obj in objects:
        if obj.get("kind") == "Deployment":
            spec = obj["spec"]
            if replicas is not None and spec.get("replicas", 1):
                spec["replicas"] = replicas
            rolling = spec.setdefault("strategy", {}).setdefault("rollingUpdate", {})
            for key, value in (("maxSurge", max_surge), ("maxUnavailable", max_unavailable)):
                if value is not None:
                    rolling[key] = value
            container = spec["template"]["spec"]["containers"][0]
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
           warmup_s: float = WARMUP_S, timeout: float = 120.0, **rollout) -> None:
    """Apply the shop (a variant of ``source``) and wait until every pod serves.

    ``rollout``: ``replicas``, ``max_surge``, ``max_unavailable`` for :func:`variant`.
    """
    objects = variant(source, env=env, sticky=sticky, **rollout)
    lab.apply(objects)
    for obj in objects:
        if obj.get("kind") == "Deployment" and obj["spec"].get("replicas", 1):
            name = obj["metadata"]["name"]
            try:
                lab.wait_available(name, timeout=timeout)
            except WaitTimeout:
                raise WaitTimeout(f'deployment "{name}" did not become available within '
                                  f"{timeout:g} s: {_why_not_ready(lab, name)}") from None
    lab.wait(warmup_s)


def _why_not_ready(lab, name: str) -> str:
    """The last warning about the Deployment's pods (a crash loop's one line), from the Timeline."""
    pods = {p.name for p in lab.timeline.pods_of(name)}
    warnings = [e for e in lab.timeline.events if e.kind == "Pod" and e.name in pods
                and e.type == "Warning"]
    if not warnings:
        return "no warning about its pods was recorded"
    return f"{warnings[-1].reason}: {warnings[-1].message}"


def release(lab, image: str, migrate: Optional[int] = None, name: str = "web"):
    """One release: the pods get ``image``, and run MIGRATE=``migrate`` when they start.

    ``migrate`` None: the image's own (5.0: 1, 5.1-both: 2, 5.1: 4).  One change
    of the pod template (``kubectl patch``), so one rollout; returns when the
    old pods are gone, with the RolloutResult.
    """
    tag = image_tag(image)
    if migrate is not None and (isinstance(migrate, bool) or not isinstance(migrate, int)
                                or not 0 <= migrate <= LATEST_SCHEMA):
        raise UsageError(f"migrate={migrate!r}: a schema version from 0 to {LATEST_SCHEMA}, or "
                         "None for the image's own")
    m = migrate if migrate is not None else int(baked(tag).get("MIGRATE", 0))
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
    if isinstance(plan, tuple) and len(plan) == 2 and isinstance(plan[0], str) and \
            (plan[1] is None or isinstance(plan[1], int)):
        # ("5.1-both", 2) is one release, not a plan of "5.1-both" and then 2.
        raise UsageError(f"the plan is one release {plan!r}, not a list of releases: write "
                         f"[{plan!r}, ...], one (image, MIGRATE) pair per rolling update")
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
             tail_s: float = TAIL_S, fresh: bool = True, **rollout):
    """From an empty database and 5.0, every release of ``plan`` under orders traffic.

    Returns ``(run, results)``: the TrafficRun (its orders audited when the
    traffic stopped, after the last release) and one RolloutResult per release.
    ``rollout`` (``replicas``, ``max_surge``, ``max_unavailable``) shapes the
    shop's Deployment when ``fresh`` deploys it.
    """
    steps = normalize_plan(plan)
    if fresh:
        start_data(lab)
        deploy(lab, **rollout)
    with lab.traffic(rps=rps, users=users, workload="orders") as run:
        lab.wait(lead_s)
        results = [release(lab, tag, migrate) for tag, migrate in steps]
        lab.wait(tail_s)
    return run, results


def session_rollout(lab, *, env: Optional[dict] = None, sticky: bool = True,
                    image: str = NEW, lead_s: float = LEAD_S, tail_s: float = TAIL_S,
                    rps: float = RPS, users: int = USERS, **rollout):
    """A rolling update of the shop under ``users`` logged-in users; returns the TrafficRun.

    ``env`` changes the shop's environment first (e.g. its SESSION_STORE);
    ``sticky``: Service web with ``sessionAffinity: ClientIP``; ``rollout``
    (``replicas``, ``max_surge``, ``max_unavailable``) shapes the Deployment.
    """
    start_data(lab)
    deploy(lab, env=env, sticky=sticky, **rollout)
    with lab.traffic(rps=rps, users=users, workload="sessions") as run:
        lab.wait(lead_s)
        release(lab, image)
        lab.wait(tail_s)
    return run


def blue_green_release(lab, image: str = NEW, *, hold_s: float = HOLD_S, lead_s: float = LEAD_S,
                       tail_s: float = TAIL_S, **rollout):
    """From an empty database, the shop as blue (5.0), then ``image`` by blue-green.

    releaselab.strategies.blue_green: green gets the image; once it is
    available, orders traffic tests it through web-preview for ``hold_s``
    seconds (lab 02's practice: no switch before green is seen to work; 0
    skips the test); then the active Service switches, and blue goes 30 s
    later.  ``rollout`` (``replicas``, ``max_surge``, ``max_unavailable``) shapes
    blue and green.  Returns ``(run, result)``.
    """
    from ..strategies import blue_green

    if isinstance(hold_s, bool) or not isinstance(hold_s, (int, float)) or \
            not 0 <= hold_s <= 600:
        raise UsageError(f"hold_s={hold_s!r}: seconds green is tested before the switch, "
                         "from 0 to 600")

    def smoke_test(lab) -> Verdict:
        with lab.traffic(rps=RPS, target="web-preview", users=5, workload="orders") as smoke:
            lab.wait(hold_s)
        if smoke.failed or smoke.lost:
            return failed(f"green failed {smoke.failed} of {smoke.sent} test requests")
        return passed(f"green answered {smoke.sent} test requests, none failed")

    start_data(lab)
    deploy(lab, BLUE_GREEN, **rollout)
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
        lines.append(f"{plural(n, 'order')} lost: {why}")
    return lines

