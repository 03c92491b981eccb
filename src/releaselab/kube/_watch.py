"""Watches on Pods, ReplicaSets and Events, turned into the Timeline.

The conversion functions at the top are pure: a Kubernetes object as a dict
(the shape the API server sends) plus the time it was seen go in, a Timeline
record comes out.  They are tested without a cluster.  :class:`Watcher`
below runs one thread per kind that lists, then watches, and feeds them.

Times.  A stage's time is when the watch *saw* it (seconds since the
backend started, monotonic), because the cluster's own timestamps have one
second resolution, too coarse for a rollout that takes ten.  A stage that
was already reached before the backend started (a pod left by an earlier
run, seen in the first list) is put at 0: the Timeline begins when the Lab
began, so such a pod shows as already there (created, ready ... at 0), never
at a negative time that would stretch every plot back to the previous run.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Callable, Optional

from ..timeline import EndpointChange, Event, PodRecord, RSStep, Timeline

log = logging.getLogger("releaselab.kube")

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"
# A cluster timestamp counts as "before the backend started" only when it is
# clearly so: the timestamps are truncated to the second.
_CLOCK_SLACK = 1.0


def parse_time(value: Optional[str]) -> Optional[float]:
    """An RFC 3339 timestamp (``2026-12-01T10:11:12Z``) as POSIX seconds, or None."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _stage_time(cluster_ts, t_seen: float, wall0: float) -> float:
    """When a stage happened, relative to the backend's start (see the module docstring).

    ``cluster_ts`` is the cluster's timestamp (RFC 3339 string or POSIX seconds) or None.
    A stage from before the start is at 0.0, the Timeline's beginning."""
    posix = cluster_ts if isinstance(cluster_ts, (int, float)) else parse_time(cluster_ts)
    if posix is not None and posix < wall0 - _CLOCK_SLACK:
        return 0.0
    return round(max(t_seen, 0.0), 3)


def _owner(obj: dict, kind: str) -> Optional[str]:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return ref.get("name")
    return None


def _condition(obj: dict, ctype: str) -> Optional[dict]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def image_tag(image: str) -> Optional[str]:
    """``releaselab/web:3.1`` → ``3.1``; a registry port (``host:5000/web``) is not a tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def pod_version(pod: dict) -> Optional[str]:
    """The first container's ``VERSION`` env value, else its image tag."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if not containers:
        return None
    first = containers[0]
    for env in first.get("env") or []:
        if env.get("name") == "VERSION" and "value" in env:
            return env["value"]
    return image_tag(first.get("image") or "")


def rs_deployment(rs_name: Optional[str], template_hash: Optional[str]) -> Optional[str]:
    """``web-5d8c9`` with hash ``5d8c9`` → ``web`` (how the controller names ReplicaSets)."""
    if rs_name and template_hash and rs_name.endswith("-" + template_hash):
        return rs_name[: -len(template_hash) - 1]
    return None


def pod_record(pod: dict, event_type: str, t_seen: float, wall0: float,
               record: Optional[PodRecord] = None) -> PodRecord:
    """Fold one watch event of a Pod into its record (a new one when ``record`` is None)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    if record is None:
        rs = _owner(pod, "ReplicaSet") or ""
        labels = meta.get("labels") or {}
        record = PodRecord(name=meta.get("name", ""), replicaset=rs,
                           deployment=rs_deployment(rs, labels.get(POD_TEMPLATE_HASH)),
                           version=pod_version(pod),
                           created=_stage_time(meta.get("creationTimestamp"), t_seen, wall0))
    record.node = spec.get("nodeName") or record.node

    scheduled = _condition(pod, "PodScheduled")
    if record.scheduled is None and scheduled and scheduled.get("status") == "True":
        record.scheduled = _stage_time(scheduled.get("lastTransitionTime"), t_seen, wall0)

    statuses = status.get("containerStatuses") or []
    running = [c for c in statuses if "running" in (c.get("state") or {})]
    if record.started is None and statuses and len(running) == len(statuses):
        record.started = _stage_time(running[0]["state"]["running"].get("startedAt"), t_seen, wall0)
    record.restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    waiting = [c["state"]["waiting"].get("reason") for c in statuses
               if "waiting" in (c.get("state") or {})]
    record.waiting_reason = waiting[0] if waiting else None

    ready = _condition(pod, "Ready")
    is_ready = bool(ready and ready.get("status") == "True")
    if is_ready and record.ready is None:
        record.ready = _stage_time(ready.get("lastTransitionTime"), t_seen, wall0)
    elif record.ready is not None and record.terminating is None:
        # Readiness lost while running, and regained: the intervals plots shade.
        open_gap = record.unready and record.unready[-1][1] is None
        if not is_ready and not open_gap:
            record.unready.append([round(t_seen, 3), None])
        elif is_ready and open_gap:
            record.unready[-1][1] = round(t_seen, 3)

    if record.terminating is None and meta.get("deletionTimestamp"):
        # deletionTimestamp is "now + grace period": the moment SIGKILL is due.
        deadline = parse_time(meta["deletionTimestamp"])
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        began = None if deadline is None else deadline - grace
        record.terminating = _stage_time(began, t_seen, wall0)
    if event_type == "DELETED" and record.gone is None:
        record.gone = round(t_seen, 3)
    return record


def rs_step(rs: dict, event_type: str, t_seen: float, wall0: float,
            known: Optional[int]) -> tuple[Optional[RSStep], Optional[int]]:
    """A ReplicaSet watch event → (the RSStep it makes, or None; its spec.replicas to remember).

    ``known`` is the spec.replicas remembered from the previous event (None:
    not seen yet).  A ReplicaSet that existed before the backend started is
    a baseline, not a step; one created later steps from 0.
    """
    meta = rs.get("metadata") or {}
    if event_type == "DELETED":
        return None, None
    replicas = int((rs.get("spec") or {}).get("replicas", 1))
    if known is None:
        created = parse_time(meta.get("creationTimestamp"))
        if created is not None and created < wall0 - _CLOCK_SLACK:
            return None, replicas
        known = 0
    if replicas == known:
        return None, replicas
    revision = (meta.get("annotations") or {}).get(REVISION_ANNOTATION)
    step = RSStep(t=round(t_seen, 3), replicaset=meta.get("name", ""),
                  deployment=_owner(rs, "Deployment"),
                  revision=int(revision) if revision and revision.isdigit() else None,
                  from_=known, to=replicas)
    return step, replicas


def event_record(ev: dict, t_seen: float, wall0: float) -> Optional[Event]:
    """A core/v1 Event → an Event record; None for one that ended before the backend started."""
    involved = ev.get("involvedObject") or ev.get("regarding") or {}
    first = ev.get("firstTimestamp") or ev.get("eventTime") or (ev.get("metadata") or {}).get(
        "creationTimestamp")
    last = ev.get("lastTimestamp") or (ev.get("series") or {}).get("lastObservedTime") or first
    last_posix = parse_time(last)
    if last_posix is not None and last_posix < wall0 - _CLOCK_SLACK:
        return None
    count = ev.get("count") or (ev.get("series") or {}).get("count") or 1
    t_first = _stage_time(first, t_seen, wall0)
    return Event(t=t_first, kind=involved.get("kind", ""), name=involved.get("name", ""),
                 reason=ev.get("reason") or "", message=ev.get("message") or ev.get("note") or "",
                 count=int(count), type=ev.get("type") or "Normal",
                 last_t=round(t_seen, 3) if int(count) > 1 else None)


SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def endpoint_changes(eps: dict, event_type: str, t_seen: float,
                     known: dict) -> list[EndpointChange]:
    """An EndpointSlice watch event → the changes of its pods' endpoints (EndpointChange).

    ``known`` maps (slice name, pod) to the last (ready, serving, terminating)
    seen and is updated in place: a pod whose conditions did not change makes
    no record; a pod gone from the slice (or the slice deleted) makes one with
    ``present`` False.  Conditions as the discovery/v1 API defines them
    (``EndpointConditions``): a nil ``ready`` or ``serving`` means true, a nil
    ``terminating`` false.
    """
    meta = eps.get("metadata") or {}
    slice_name = meta.get("name", "")
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL, "")
    now: dict[str, tuple] = {}
    if event_type != "DELETED":
        for endpoint in eps.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if ref.get("kind", "Pod") != "Pod" or not ref.get("name"):
                continue
            cond = endpoint.get("conditions") or {}
            ready = cond.get("ready") is not False
            serving = cond.get("serving") is not False
            now[ref["name"]] = (ready, serving, bool(cond.get("terminating")))
    t = round(max(t_seen, 0.0), 3)
    out = []
    for pod, state in now.items():
        if known.get((slice_name, pod)) != state:
            known[(slice_name, pod)] = state
            out.append(EndpointChange(t, service, pod, True, *state))
    for key in [k for k in known if k[0] == slice_name and k[1] not in now]:
        del known[key]
        out.append(EndpointChange(t, service, key[1], False, False, False, False))
    return out


class Watcher:
    """Threads (pods, replicasets, events, ...) that list, then watch, and fill a Timeline.

    ``sources`` maps a name to a list function of the kubernetes client
    (``CoreV1Api.list_namespaced_pod``, ...).  Each thread lists (to learn
    the resourceVersion), then watches from there; a 410 Gone (history
    compacted) or an ERROR event means list again.

    Stopping.  A watch is a long HTTP response the server keeps open; a
    thread blocked reading it would hear of :meth:`stop` only when the
    server ends it (``server_timeout``).  So each thread reads its own
    response (``_preload_content=False``, lines split as the client's
    ``watch.iter_resp_lines`` does) and :meth:`stop` shuts the socket under
    it (urllib3's ``HTTPResponse.shutdown``): the read returns at once and
    the threads end within a fraction of a second, before the backend
    closes the connection pool — so closing produces no errors of its own.

    Errors.  A failing list or watch is retried every second; each distinct
    error is kept in :attr:`errors` and logged once (logger
    ``releaselab.kube``), so a cluster that went away says so one time, not
    every second, and nothing is lost at close.
    """

    def __init__(self, timeline: Timeline, sources: dict, namespace: str,
                 clock: Callable[[], float], wall0: float, *, server_timeout: int = 30) -> None:
        self.timeline = timeline
        self.sources = sources
        self.namespace = namespace
        self.clock = clock
        self.wall0 = wall0
        self.server_timeout = server_timeout
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._responses: set = set()
        self._logged: set[str] = set()
        self._rs_known: dict[str, int] = {}
        self._endpoints_known: dict[tuple, tuple] = {}
        self._events: dict[str, Event] = {}

    # -- folding one event (called from the threads, under the lock) -------
    def handle(self, source: str, event_type: str, obj: dict) -> None:
        t = self.clock()
        with self._lock:
            if source == "pods":
                name = (obj.get("metadata") or {}).get("name", "")
                old = self.timeline.pod(name)
                new = pod_record(obj, event_type, t, self.wall0, old)
                if old is None:
                    self.timeline.add_pod(new)
            elif source == "replicasets":
                name = (obj.get("metadata") or {}).get("name", "")
                step, known = rs_step(obj, event_type, t, self.wall0, self._rs_known.get(name))
                if known is None:
                    self._rs_known.pop(name, None)
                else:
                    self._rs_known[name] = known
                if step is not None:
                    self.timeline.rs_steps.append(step)
            elif source == "endpointslices":
                self.timeline.endpoints.extend(
                    endpoint_changes(obj, event_type, t, self._endpoints_known))
            elif source == "events" and event_type != "DELETED":
                meta = obj.get("metadata") or {}
                key = meta.get("uid") or meta.get("name")
                rec = event_record(obj, t, self.wall0)
                if rec is None:
                    return
                old = self._events.get(key)
                if old is None:
                    self._events[key] = rec
                    self.timeline.events.append(rec)
                else:   # the cluster folded a repeat into this Event
                    old.count, old.message, old.last_t = rec.count, rec.message, round(t, 3)

    # -- threads -----------------------------------------------------------
    def start(self) -> None:
        for source in self.sources:
            th = threading.Thread(target=self._run, args=(source,), daemon=True,
                                  name=f"releaselab-watch-{source}")
            th.start()
            self._threads.append(th)

    @property
    def running(self) -> bool:
        return any(th.is_alive() for th in self._threads)

    def stop(self, join_timeout: float = 2.0) -> None:
        """End the threads (see the class docstring) and wait for them, ``join_timeout`` s in all."""
        self._stop.set()
        for resp in list(self._responses):
            _interrupt(resp)
        deadline = time.monotonic() + join_timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        stuck = [th.name for th in self._threads if th.is_alive()]
        if stuck:
            self._error(f"{', '.join(stuck)} still running {join_timeout:g} s after stop "
                        f"(daemon threads: they end with the process)")

    def _error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)
            first = text not in self._logged
            self._logged.add(text)
        if first:
            log.warning("releaselab watch: %s", text)

    def _run(self, source: str) -> None:
        from kubernetes.client.exceptions import ApiException

        version = None
        while not self._stop.is_set():
            try:
                version = self._list_then_watch(source, version)
            except ApiException as exc:
                if self._stop.is_set():
                    break
                if exc.status == 410:        # Gone: history compacted, list again
                    version = None
                    continue
                self._error(f"{source}: the API server answered {exc.status} {exc.reason}")
                self._stop.wait(1.0)
            except Exception as exc:  # the connection dropped: retry, and say so once
                if self._stop.is_set():
                    break             # our own stop() shut the socket: not an error
                self._error(f"{source}: {_describe(exc)}")
                self._stop.wait(1.0)

    def _list_then_watch(self, source: str, version: Optional[str]) -> Optional[str]:
        """One list (when ``version`` is None) and one watch; the resourceVersion to go on from."""
        import json

        from kubernetes.watch.watch import iter_resp_lines

        list_fn = self.sources[source]
        if version is None:
            resp = list_fn(self.namespace, _preload_content=False, _request_timeout=10)
            body = json.loads(resp.data)
            for item in body.get("items") or []:
                self.handle(source, "ADDED", item)
            version = (body.get("metadata") or {}).get("resourceVersion")
        resp = list_fn(self.namespace, watch=True, resource_version=version,
                       timeout_seconds=self.server_timeout, _preload_content=False,
                       _request_timeout=self.server_timeout + 5)
        self._responses.add(resp)
        try:
            if self._stop.is_set():
                return version
            for line in iter_resp_lines(resp):
                if self._stop.is_set():
                    break
                if not line.strip():
                    continue
                ev = json.loads(line)
                if ev.get("type") == "ERROR":
                    return None            # 410 Gone or similar: start over from a list
                obj = ev.get("object") or {}
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                if ev.get("type") != "BOOKMARK":
                    self.handle(source, ev.get("type", ""), obj)
        finally:
            self._responses.discard(resp)
            resp.close()
            resp.release_conn()
        return version


def _describe(exc: Exception) -> str:
    """An exception as a short line that is the same each time it recurs (so it logs once)."""
    from urllib3.exceptions import HTTPError

    if isinstance(exc, HTTPError):
        reason = getattr(exc, "reason", None) or exc
        text = str(reason).lower()
        for known in ("connection refused", "timed out", "name or service not known",
                      "connection reset", "no route to host"):
            if known in text:
                return f"cannot reach the API server ({known})"
        return f"cannot reach the API server ({type(reason).__name__})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _interrupt(resp) -> None:
    """Make a read blocked on ``resp`` in another thread return now."""
    try:
        shutdown = getattr(resp, "shutdown", None)     # urllib3 >= 2.3
        if shutdown is not None:
            shutdown()
        else:
            resp.close()
    except Exception:      # already closed: nothing to interrupt
        pass
