"""The data servers of lab 05: a StatefulSet of the official postgres or redis image, modelled.

What the simulator keeps of ``cluster/manifests/data/``:

* a StatefulSet whose image is one ``cluster/images.yaml`` lists under
  ``services:`` becomes ONE modelled server — PostgreSQL (:class:`Database`)
  or Redis (a session store) — ready ``START_S`` after it is applied, down
  while it has 0 replicas or after it is deleted.  Its pods, probes and
  resources are not modelled (Lab.apply says so once, by name); an image not
  listed never becomes ready, as a pod stuck in ImagePullBackOff would not;
* its ``volumeClaimTemplates`` become PersistentVolumeClaims
  ``<template>-<statefulset>-0`` that hold the data: deleting the StatefulSet
  keeps them, as Kubernetes does, so a StatefulSet applied again finds its
  data; deleting the claim deletes the data;
* the app reaches a server the way DNS would resolve it: the URL's host
  names a Service whose selector matches the StatefulSet's pod labels, the
  port is one of that Service's ports, and for PostgreSQL the user and
  password are the ones the StatefulSet's env gave the official image
  (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB).  Otherwise the app gets
  the error a real client library gives.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional
from urllib.parse import unquote, urlsplit

from .database import Database

if TYPE_CHECKING:
    from .cluster import Cluster

POSTGRESQL, REDIS = "postgresql", "redis"
#: Apply → the server accepts connections.  The official postgres image runs
#: initdb on an empty volume and then starts (a few seconds on a laptop);
#: redis starts in well under a second.  Image pulls are not modelled.
START_S = {POSTGRESQL: 5.0, REDIS: 1.0}
PORTS = {POSTGRESQL: 5432, REDIS: 6379}


def load_services(path=None) -> set:
    """The official images ``cluster/images.yaml`` lists under ``services:``."""
    import yaml

    from ..manifests import cluster_dir

    data = yaml.safe_load((path or cluster_dir() / "images.yaml").read_text()) or {}
    return {entry["image"] for entry in data.get("services") or []}


def server_kind(image: str, services: set) -> Optional[str]:
    """postgresql / redis for an image images.yaml lists under ``services:``, else None."""
    if image not in services:
        return None
    repository = image.rsplit(":", 1)[0].rsplit("/", 1)[-1]
    return {"postgres": POSTGRESQL, "redis": REDIS}.get(repository)


@dataclass(eq=False)
class _Stored:
    """What the API server keeps of an object the model runs."""

    name: str
    namespace: str
    labels: dict
    spec: dict
    created: float
    uid: str


@dataclass(eq=False)
class Volume(_Stored):
    """A PersistentVolumeClaim made from a volumeClaimTemplate, and the data on it."""

    database: Optional[Database] = None
    sessions: Optional[dict] = None          # Redis: key → (user, expires at)

    def to_dict(self) -> dict:
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": dict(self.labels), "creationTimestamp": self.created,
                             "uid": self.uid},
                "spec": copy.deepcopy(self.spec), "status": {"phase": "Bound"}}


@dataclass(eq=False)
class DataServer(_Stored):
    """A StatefulSet of postgres or redis, run as one modelled server."""

    kind: Optional[str] = None           # postgresql, redis; None: an image that cannot run
    ready_at: Optional[float] = None     # None: not starting (0 replicas, or it cannot run)
    generation: int = 1
    volume: Optional[Volume] = None
    env: dict = field(default_factory=dict)
    counter: int = 0                     # Redis session tokens handed out

    @property
    def replicas(self) -> int:
        return self.spec.get("replicas", 1)

    def up(self, now: float) -> bool:
        return self.ready_at is not None and now >= self.ready_at

    def to_dict(self, now: float = float("inf")) -> dict:
        ready = 1 if self.up(now) else 0
        return {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": dict(self.labels), "creationTimestamp": self.created,
                             "generation": self.generation, "uid": self.uid},
                "spec": copy.deepcopy(self.spec),
                "status": {"observedGeneration": self.generation, "replicas": self.replicas,
                           "readyReplicas": ready, "availableReplicas": ready,
                           "currentReplicas": self.replicas, "updatedReplicas": self.replicas}}


class DataServers:
    """Every modelled data server of one cluster, and how apps reach them."""

    def __init__(self, cluster: "Cluster", services: set):
        self.c = cluster
        self.services = set(services)          # images.yaml `services:`: what can run
        self.statefulsets: dict[str, DataServer] = {}
        self.volumes: dict[str, Volume] = {}

    # -- the API side ------------------------------------------------------------------
    def apply(self, obj: dict) -> dict:
        c, now = self.c, self.c.kernel.now
        meta, spec = obj["metadata"], obj["spec"]
        name = meta["name"]
        old = self.statefulsets.get(name)
        template = spec["template"]
        container = template["spec"]["containers"][0]
        server = DataServer(name, meta["namespace"], dict(meta.get("labels") or {}),
                            copy.deepcopy(spec), now, old.uid if old else c.uid(),
                            server_kind(container["image"], self.services),
                            env={e["name"]: str(e["value"]) for e in container.get("env") or []
                                 if "value" in e})
        if old is not None:
            server.generation = old.generation + (old.spec != server.spec)
            server.counter = old.counter
            # The same running server unless its pod template changed (a rolling
            # update of a one-replica StatefulSet restarts its pod).
            if old.spec["template"] == spec["template"] and old.ready_at is not None:
                server.ready_at = old.ready_at
                for held in ("database", "sessions"):      # a volume-less server's own data
                    if hasattr(old, held):
                        setattr(server, held, getattr(old, held))
        server.volume = self._claim(server)
        self.statefulsets[name] = server
        if server.kind is None:
            image = container["image"]
            c.recorder.emit(now, "Pod", f"{name}-0", "Failed",
                            f'Failed to pull image "{image}": the simulator runs only the '
                            f"data images cluster/images.yaml lists under services: "
                            f"({', '.join(sorted(self.services))})", "Warning")
        elif server.replicas > 0 and server.ready_at is None:
            server.ready_at = now + START_S[server.kind]
            c.kernel.at(server.ready_at, self._changed)
        if server.replicas == 0:
            server.ready_at = None
            self._retention(server, "whenScaled")
        self._changed()
        return server.to_dict(now)

    def _claim(self, server: DataServer) -> Optional[Volume]:
        """The PersistentVolumeClaim of pod <name>-0 (created at the first apply, then kept)."""
        templates = server.spec.get("volumeClaimTemplates") or []
        if not templates:
            return None
        template = templates[0]
        claim = f"{template['metadata']['name']}-{server.name}-0"
        volume = self.volumes.get(claim)
        if volume is None:
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            volume = Volume(claim, server.namespace, labels, copy.deepcopy(template["spec"]),
                            self.c.kernel.now, self.c.uid())
            self.volumes[claim] = volume
        return volume

    def delete(self, name: str) -> None:
        server = self.statefulsets.pop(name)
        self._retention(server, "whenDeleted")
        self._changed()

    def _retention(self, server: DataServer, when: str) -> None:
        """persistentVolumeClaimRetentionPolicy: Retain (the default) keeps the claim and data."""
        policy = (server.spec.get("persistentVolumeClaimRetentionPolicy") or {}).get(when)
        if policy == "Delete" and server.volume is not None:
            self.volumes.pop(server.volume.name, None)
            server.volume = None

    def delete_volume(self, name: str) -> None:
        volume = self.volumes.pop(name)
        for server in self.statefulsets.values():
            if server.volume is volume:
                # kubernetes.io/pvc-protection: a claim in use by a running pod
                # stays until the pod is gone; the model drops it with its data.
                server.volume = None
        self._changed()

    def _changed(self) -> None:
        self.c.changes += 1

    def rendered(self, kind: str) -> dict:
        """{name: object with to_dict()} for the backend's get/list, rendered now."""
        now = self.c.kernel.now
        store = {}
        source = self.statefulsets if kind == "StatefulSet" else self.volumes
        for name, obj in source.items():
            store[name] = _Snapshot(obj.to_dict(now) if kind == "StatefulSet" else obj.to_dict())
        return store

    # -- the app side --------------------------------------------------------------------
    def reach(self, url: str, kind: str) -> tuple[Optional[DataServer], str]:
        """(server, "") if a client could connect to ``url`` now, else (None, the error)."""
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or PORTS[kind]
        now = self.c.kernel.now
        service = self.c.services.get(host.split(".")[0])
        server = None
        if service is not None:
            server = next((s for s in self.statefulsets.values() if s.kind == kind
                           and _selects(service.selector, _pod_labels(s))), None)
        if server is None:
            if kind == REDIS:
                return None, (f"Error -2 connecting to {host}:{port}. Name or service not "
                              "known.")
            return None, (f'connection failed: could not translate host name "{host}" to '
                          "address: Name or service not known")
        ports = {p.get("port") for p in service.spec.get("ports") or []}
        if not server.up(now) or port not in ports:
            if kind == REDIS:
                return None, f"Error 111 connecting to {host}:{port}. Connection refused."
            return None, (f'connection failed: connection to server at "{host}", port {port} '
                          "failed: Connection refused")
        if kind == POSTGRESQL:
            user = unquote(parts.username or "")
            expected = server.env.get("POSTGRES_USER", "postgres")
            if user != expected or unquote(parts.password or "") != server.env.get(
                    "POSTGRES_PASSWORD"):
                return None, (f'connection failed: connection to server at "{host}", port '
                              f'{port} failed: FATAL:  password authentication failed for user '
                              f'"{user}"')
            database = parts.path.lstrip("/") or user
            if database != server.env.get("POSTGRES_DB", expected):
                return None, (f'connection failed: connection to server at "{host}", port '
                              f'{port} failed: FATAL:  database "{database}" does not exist')
        return server, ""

    def database(self, server: DataServer) -> Database:
        """The PostgreSQL data of ``server`` (on its volume; without one, in the pod)."""
        holder = server.volume if server.volume is not None else server
        if getattr(holder, "database", None) is None:
            holder.database = Database()
        return holder.database

    def sessions(self, server: DataServer) -> dict:
        holder = server.volume if server.volume is not None else server
        if getattr(holder, "sessions", None) is None:
            holder.sessions = {}
        return holder.sessions


class _Snapshot:
    """An already rendered object: what get/list return for it."""

    def __init__(self, rendered: dict):
        self._rendered = rendered

    def to_dict(self) -> dict:
        return copy.deepcopy(self._rendered)


def _pod_labels(server: DataServer) -> dict:
    return (server.spec["template"].get("metadata") or {}).get("labels") or {}


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
