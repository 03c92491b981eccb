"""The ``kubectl`` twins :class:`~releaselab.Lab` prints, and the tables kubectl prints.

Every Lab call shows the command that does the same on the real cluster, and
"the same" is meant literally: the line names the kit's context and
namespace (``--context kind-releaselab -n releaselab``), so pasted into a
terminal whose current context is something else it still reaches the lab's
cluster; ``apply`` is server-side with the kit's field manager, as the kind
backend sends it; a manifest is named by a path that exists from where the
notebook runs; ``wait --for=delete`` selects only the pods it means.  The
global flags come first, as in book/kind-setup.md:
``kubectl --context kind-releaselab -n releaselab rollout status deployment/web``.

The tables (:class:`PodList`, :class:`RevisionList`) print what ``kubectl get
pods`` and ``kubectl rollout history`` print, column for column.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from .kube._guard import KIND_CONTEXT, NAMESPACE

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
POD_TEMPLATE_HASH = "pod-template-hash"
FIELD_MANAGER = "releaselab"
#: What the kind backend's apply is: server-side, as field manager "releaselab", taking
#: over fields another manager set (kube/_backend.py sends force=true).
APPLY = f"apply --server-side --field-manager={FIELD_MANAGER} --force-conflicts"


class Kubectl:
    """Formats (and, with ``echo``, prints) one kubectl line per Lab call."""

    def __init__(self, context: Optional[str] = None, namespace: Optional[str] = None,
                 echo: bool = True) -> None:
        self.context = context or KIND_CONTEXT
        self.namespace = namespace or NAMESPACE
        self.echo = echo

    def line(self, command: str, comment: Optional[str] = None) -> str:
        text = f"$ kubectl --context {self.context} -n {self.namespace} {command}"
        return f"{text}  # {comment}" if comment else text

    def say(self, command: str, comment: Optional[str] = None) -> None:
        if self.echo:
            print(self.line(command, comment))


def display_path(source, root: Path, cwd: Optional[Path] = None) -> str:
    """The manifest file as a path that exists from the working directory.

    A lab says ``lab.apply("rolling/web.yaml")``; the file is
    ``<root>/rolling/web.yaml``.  Run from ``solutions/`` that is
    ``../cluster/manifests/rolling/web.yaml`` — the same string on every
    machine, so notebook outputs stay deterministic — and from anywhere far
    away (a wheel installed in a virtualenv) the absolute path.
    """
    path = Path(str(source))
    if not path.is_absolute():
        path = root / path
    path = Path(os.path.abspath(path))
    try:
        rel = os.path.relpath(path, cwd or Path.cwd())
    except ValueError:           # another drive on Windows
        return str(path)
    return rel if rel.count("..") <= 3 else str(path)


def selector_text(labels: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def old_pods_selector(deployment: dict, replicasets: list[dict]) -> str:
    """A label selector matching only the pods of a Deployment's *old* ReplicaSets.

    ``-l app=web`` would match the new pods too, so ``kubectl wait
    --for=delete`` would wait for every pod of the Deployment to disappear.
    The new ReplicaSet is the one with the highest revision (the Deployment
    controller's ``FindNewReplicaSet`` matches the template; the revision
    annotation is the number it gives the newest one); its pods carry its
    ``pod-template-hash`` label, so ``pod-template-hash!=<new hash>`` leaves
    exactly the old ones.  Quoted for the shell: ``!`` is history expansion in
    an interactive bash.
    """
    labels = dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    newest, new_hash = -1, None
    for rs in replicasets:
        meta = rs.get("metadata") or {}
        value = (meta.get("annotations") or {}).get(REVISION_ANNOTATION, "")
        revision = int(value) if str(value).isdigit() else -1
        template_labels = (((rs.get("spec") or {}).get("template") or {}).get("metadata")
                           or {}).get("labels") or {}
        rs_hash = (meta.get("labels") or {}).get(POD_TEMPLATE_HASH) or \
            template_labels.get(POD_TEMPLATE_HASH)
        if rs_hash and revision > newest:
            newest, new_hash = revision, rs_hash
    parts = [selector_text(labels)] if labels else []
    if new_hash:
        parts.append(f"{POD_TEMPLATE_HASH}!={new_hash}")
    return "'" + ",".join(parts) + "'"


def human_duration(seconds: float) -> str:
    """kubectl's AGE column: apimachinery's ``duration.HumanDuration``.

    Whole seconds below 2 minutes (``119s``), then minutes and seconds below
    10 minutes (``9m59s``), minutes below 3 hours (``179m``), hours and
    minutes below 8 hours (``7h59m``), hours below 2 days, then days.
    """
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    return f"{hours // 24}d"


def pod_status(pod: dict) -> str:
    """The STATUS column, as kubectl's ``printPod`` (pkg/printers/internalversion) derives it.

    The phase, replaced by the pod's own reason, then by a container's
    waiting or terminated reason (``ErrImagePull``, ``CrashLoopBackOff``,
    ``ContainerCreating``); ``Terminating`` once a deletionTimestamp is set.
    """
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    # No kubelet reports containers of a pod no node has taken (the real API shows
    # none; the simulator's dict lists a waiting one), so an unscheduled pod is Pending.
    scheduled = bool((pod.get("spec") or {}).get("nodeName"))
    for c in reversed(status.get("containerStatuses") or [] if scheduled else []):
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if meta.get("deletionTimestamp") is not None:
        reason = "Terminating"
    return reason


class PodList(list):
    """``kubectl get pods`` as a list of dicts, printed as kubectl prints it.

    Each dict: name, version (the kit's reading of the image tag or VERSION),
    ready (``"1/1"``), status, restarts, age (seconds), ip and node.  The
    printed table has kubectl's default columns, NAME READY STATUS RESTARTS
    AGE, or with ``wide`` those of ``-o wide`` (printPod's wide cells: IP,
    NODE, NOMINATED NODE, READINESS GATES, ``<none>`` where empty).
    """

    def __init__(self, items: list[dict], timeline, now: float,
                 wall_now: Optional[float] = None, wide: bool = False):
        self.wide = wide
        from .kube._watch import parse_time

        wall_now = time.time() if wall_now is None else wall_now
        rows = []
        for pod in sorted(items, key=lambda p: p["metadata"]["name"]):
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            created = pod["metadata"].get("creationTimestamp")
            if isinstance(created, (int, float)):       # the simulator: seconds since start
                age = now - created
            else:                                       # a cluster: RFC 3339
                posix = parse_time(created)
                age = None if posix is None else wall_now - posix
            record = timeline.pod(pod["metadata"]["name"])
            n_containers = len((pod.get("spec") or {}).get("containers") or []) or 1
            rows.append({"name": pod["metadata"]["name"],
                         "version": record.version if record else None,
                         "ready": f"{sum(1 for c in statuses if c.get('ready'))}/{n_containers}",
                         "status": pod_status(pod),
                         "restarts": sum(int(c.get("restartCount") or 0) for c in statuses),
                         "age": None if age is None else round(age, 3),
                         "ip": _pod_ip(pod) if (pod.get("spec") or {}).get("nodeName") else None,
                         "node": (pod.get("spec") or {}).get("nodeName"),
                         "nominated": (pod.get("status") or {}).get("nominatedNodeName"),
                         "gates": _readiness_gates(pod)})
        super().__init__(rows)

    def __repr__(self) -> str:
        if not self:
            return f"No resources found in {NAMESPACE} namespace."
        header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        cells = [[row["name"], row["ready"], row["status"], str(row["restarts"]),
                  "<unknown>" if row["age"] is None else human_duration(row["age"])]
                 for row in self]
        if self.wide:
            header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
            for row, line in zip(self, cells):
                line += [row[c] or "<none>" for c in ("ip", "node", "nominated", "gates")]
        return _tabbed([header, *cells], padding=3, min_width=6)


def _pod_ip(pod: dict) -> Optional[str]:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    return (ips[0].get("ip") if ips else None) or status.get("podIP") or None


def _readiness_gates(pod: dict) -> Optional[str]:
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return None
    true = {c.get("type") for c in (pod.get("status") or {}).get("conditions") or []
            if c.get("status") == "True"}
    return f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"


class RevisionList(list):
    """``kubectl rollout history deployment/<name>`` as a list of dicts, printed as kubectl does.

    Each dict: revision, replicaset, image, replicas, change_cause.  The
    printed table is kubectl's ``DeploymentHistoryViewer.ViewHistory``
    (polymorphichelpers/history.go): REVISION and CHANGE-CAUSE (the
    ReplicaSet's ``kubernetes.io/change-cause`` annotation, else ``<none>``),
    under the resource's name.
    """

    def __init__(self, name: str, rows: list[dict]):
        self.deployment = name
        super().__init__(sorted(rows, key=lambda row: row["revision"]))

    def __repr__(self) -> str:
        if not self:
            return f"deployment.apps/{self.deployment}\nNo rollout history found."
        table = _tabbed([["REVISION", "CHANGE-CAUSE"],
                         *[[str(row["revision"]), row.get("change_cause") or "<none>"]
                           for row in self]], padding=2)
        return f"deployment.apps/{self.deployment}\n{table}"


def _tabbed(rows: list[list[str]], padding: int, min_width: int = 0) -> str:
    """Go's text/tabwriter with space padding, as kubectl sets it up; trailing blanks removed.

    ``kubectl get`` uses ``printers.GetNewTabWriter`` (min width 6, padding 3);
    ``rollout history`` its own ``tabbedString`` (min width 0, padding 2).  A
    cell is as wide as the column's widest entry plus the padding.
    """
    widths = [max(min_width, max(len(r[i]) for r in rows) + padding) for i in range(len(rows[0]))]
    return "\n".join("".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)
