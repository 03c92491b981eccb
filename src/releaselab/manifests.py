"""Load Kubernetes YAML, apply the API server's defaults, reject what it rejects.

Both backends read the same files from ``cluster/manifests/``.  The kind
backend sends them to a real API server; the simulator needs them checked and
defaulted the way that server would, and turned into typed objects
(:class:`PodTemplate`, :class:`Probe`, ...) its kubelet model can run.

Error messages follow the API server's wording
(``Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be
greater than or equal to 0``) so a reader who meets them on a real cluster
recognises them.  The work is split by stage, as the server splits it:

- ``_yamlload``: YAML to objects (libyaml when present; the 3 MiB request limit,
  alias bombs included; duplicate keys refused as kubectl refuses them);
- ``_schema`` / ``_gatewayschema``: types and unknown fields, from the real
  OpenAPI schema (the decoder's "cannot unmarshal ..." / "unknown field");
- ``_validation`` / ``_podvalidation`` / ``_fielderrors``: defaults, then the
  rules of the Go validation code, each naming its upstream function;
- ``_quantity``: resource quantities by ``ParseQuantity``'s grammar.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from . import _validation
from ._quantity import parse_cpu, parse_memory  # noqa: F401  (re-exported: public names)
from ._yamlload import MAX_REQUEST_BYTES, json_size, parse_documents
from ._statefulset import NOT_MODELLED as _STATEFULSET_NOT_MODELLED
from .errors import ManifestError, NotFoundError

Source = Union[str, os.PathLike, dict, list]

GATEWAY_GROUP = _validation.GATEWAY_GROUP
SUPPORTED = {
    ("apps/v1", "Deployment"), ("v1", "Service"),
    (f"{GATEWAY_GROUP}/v1", "Gateway"), (f"{GATEWAY_GROUP}/v1", "HTTPRoute"),
    ("apps/v1", "StatefulSet"),     # lab 05's data servers (_statefulset.py)
}
_GROUP_OF = _validation.GROUP_OF
#: The one namespace the kit works in (on kind, kube/_guard.py holds it to that too).
NAMESPACE = "releaselab"

# Pod-spec fields the simulator accepts but that change nothing it measures
# (who may run the process, how the image is fetched, names of ports).  They
# matter on kind, where the manifests also run, so they stay in the files.
NO_EFFECT_FIELDS = {
    "securityContext", "imagePullPolicy", "ports", "serviceAccountName",
    "automountServiceAccountToken", "enableServiceLinks", "dnsPolicy", "restartPolicy",
    "terminationMessagePath", "terminationMessagePolicy", "schedulerName",
}
_MODELLED_POD = {"containers", "terminationGracePeriodSeconds"}
_MODELLED_CONTAINER = {"name", "image", "env", "readinessProbe", "livenessProbe", "startupProbe",
                       "lifecycle", "resources"}


def manifests_root() -> Path:
    """``cluster/manifests`` (a checkout's or the installed copy), or ``$RELEASELAB_MANIFESTS``."""
    from ._paths import manifests_root as root

    return root()


def cluster_dir() -> Path:
    """The kit's ``cluster/``; ``$RELEASELAB_MANIFESTS`` does not move it (see ``_paths``)."""
    from ._paths import cluster_dir as where

    return where()


def load(source: Source) -> list[dict]:
    """Objects from a path (relative paths resolve under cluster/manifests/), YAML text or dicts.

    An input without any object is refused with kubectl's words ("no objects
    passed to apply"), and so is a document too large for the API server.
    """
    if isinstance(source, dict):
        docs = [source]
    elif isinstance(source, (list, tuple)):
        docs = list(source)
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if "\n" in text or ":" in text and not text.endswith((".yaml", ".yml")):
            docs = _parse(text, "the YAML text")
        elif not text.strip():
            docs = []
        else:
            path = Path(text)
            if not path.is_absolute():
                path = manifests_root() / path
            if not path.is_file():
                raise NotFoundError(f"no manifest {text!r} (looked for {path}); "
                                    f"paths are relative to {manifests_root()}")
            docs = _parse(path.read_text(), str(path))
    else:
        raise ManifestError(f"cannot apply a {type(source).__name__}: pass a path under "
                            "cluster/manifests/, YAML text, a dict or a list of dicts")
    docs = [d for d in docs if d is not None]
    if not docs:
        raise ManifestError("no objects passed to apply")
    for doc in docs:
        _validation.require_mapping(doc)
        if json_size(doc) > MAX_REQUEST_BYTES:
            raise ManifestError(f"{doc.get('kind')} {_name_of(doc)!r} is larger than the API "
                                f"server accepts: Request entity too large: limit is "
                                f"{MAX_REQUEST_BYTES}")
    return [copy.deepcopy(d) for d in docs]


def _name_of(doc: dict) -> Any:
    meta = doc.get("metadata")
    return meta.get("name") if isinstance(meta, dict) else None


def _parse(text: str, where: str) -> list:
    return parse_documents(text, where)


# --------------------------------------------------------------------------
# Validation and defaults


def validate(obj: dict) -> tuple[dict, list[str]]:
    """Check one object and fill in defaults.  Returns (defaulted copy, notes).

    Raises ManifestError with the API server's one line for what it would
    reject, and ContextRefusedError for a namespace other than the kit's.
    Notes name fields the simulator does not model, so they are never
    silently ignored.
    """
    _validation.require_mapping(obj)
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if (api, kind) not in SUPPORTED:
        known = ", ".join(f"{a} {k}" for a, k in sorted(SUPPORTED))
        raise ManifestError(f"cannot apply {api} {kind}: releaselab labs use {known}")
    _validation.check_namespace(obj, NAMESPACE)
    obj = _validation.check(_without_server_fields(obj))
    meta = obj["metadata"]
    meta.setdefault("namespace", NAMESPACE)
    meta.setdefault("labels", {})
    notes: list[str] = []
    if kind == "Deployment":
        pod = obj["spec"]["template"]["spec"]
        if pod["terminationGracePeriodSeconds"] < 0:
            # Kubernetes >= 1.27 (kubernetes#115606): a Pod with a negative grace
            # period is treated as having 1 s.  The simulator keeps 1 in the
            # template it runs (on kind the Deployment keeps the negative value
            # and its Pods get 1); the API server's warning is in warnings().
            pod["terminationGracePeriodSeconds"] = 1
        notes = _pod_notes(pod)
        parse_template(obj["spec"]["template"])   # everything the simulator reads, read now
    elif kind == "Service" and obj["spec"]["type"] == "ExternalName":
        notes = [f'Service "{meta["name"]}" of type ExternalName (the simulator routes no '
                 "traffic through it; on a cluster it is a DNS alias)"]
    elif kind == "StatefulSet":
        parse_template(obj["spec"]["template"])
        notes = [_STATEFULSET_NOT_MODELLED]
    return obj, notes


# Fields the API server owns.  An object read back with get() may be applied
# again: they are dropped first, as the kind backend drops them (kube/_guard.py).
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "managedFields",
                    "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


def _without_server_fields(obj: dict) -> dict:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not any(k in meta for k in _SERVER_METADATA):
        return obj
    obj = dict(obj)
    obj["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_METADATA}
    return obj


def warnings(obj: dict) -> list[str]:
    """The API server's warnings for an object it accepts (kubectl prints them as ``Warning: ...``)."""
    if not isinstance(obj, dict) or obj.get("kind") != "Deployment":
        return []
    try:
        grace = obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    except (KeyError, TypeError):
        return []
    if isinstance(grace, int) and not isinstance(grace, bool) and grace < 0:
        # warningsForPodSpecAndMeta (pkg/api/pod/warnings.go), word for word.
        return ["spec.template.spec.terminationGracePeriodSeconds: must be >= 0; negative values "
                "are invalid and will be treated as 1"]
    return []


def _pod_notes(pod: dict) -> list[str]:
    notes = [f"spec.template.spec.{k}" for k in pod
             if k not in _MODELLED_POD and k not in NO_EFFECT_FIELDS]
    for i, c in enumerate(pod.get("containers") or []):
        where = f"spec.template.spec.containers[{i}]"
        notes += [f"{where}.{k}" for k in c
                  if k not in _MODELLED_CONTAINER and k not in NO_EFFECT_FIELDS]
    return notes


# --------------------------------------------------------------------------
# Typed views the simulator runs


@dataclass(frozen=True)
class Probe:
    kind: str                   # "httpGet", "tcpSocket", "exec", "grpc"
    path: Optional[str]
    port: Optional[Union[int, str]]     # a number or a container port's name, as written
    initial_delay_s: int
    period_s: int
    timeout_s: int
    success_threshold: int
    failure_threshold: int
    command: tuple = ()         # exec: the argv, as written (every word a string)

    @classmethod
    def from_spec(cls, spec: Optional[dict]) -> Optional["Probe"]:
        if not spec:
            return None
        kind = next(k for k in ("httpGet", "tcpSocket", "exec", "grpc") if k in spec)
        path = spec["httpGet"].get("path", "/") if kind == "httpGet" else None
        port = spec[kind].get("port") if kind in ("httpGet", "tcpSocket", "grpc") else None
        command = tuple(str(w) for w in (spec["exec"].get("command") or ())) \
            if kind == "exec" else ()
        return cls(kind, path, port, spec["initialDelaySeconds"], spec["periodSeconds"],
                   spec["timeoutSeconds"], spec["successThreshold"], spec["failureThreshold"],
                   command)


@dataclass(frozen=True)
class PodTemplate:
    """The first container of a pod template, as the simulator runs it."""

    labels: tuple
    container: str
    image: str
    env: tuple                  # ((name, value), ...) from the manifest, literal values only
    readiness: Optional[Probe]
    liveness: Optional[Probe]
    startup: Optional[Probe]
    pre_stop_sleep_s: float     # 0 without a preStop hook
    grace_s: int
    cpu_m: int                  # requests, millicores
    memory_mi: int              # requests, MiB
    extra_containers: int = 0
    #: ((name, containerPort, protocol), ...) of every container, in order:
    #: what a Service's named targetPort resolves against (podutil.FindPort).
    ports: tuple = ()
    #: ((name, containerPort), ...) of the first container: what a probe's
    #: named port resolves against (the kubelet's findPortByName).
    own_ports: tuple = ()
    #: Directories the first container can write: /dev/shm always (the
    #: runtime mounts it read-write), /tmp unless readOnlyRootFilesystem,
    #: and every volumeMount that is not readOnly.
    writable_dirs: tuple = ("/dev/shm", "/tmp")

    def env_dict(self) -> dict:
        return dict(self.env)

    def container_port(self, name: str, protocol: str = "TCP") -> Optional[int]:
        """A Service targetPort name → containerPort, as podutil.FindPort: the first
        port of any container with that name and protocol; None if there is none."""
        return next((number for port_name, number, proto in self.ports
                     if port_name == name and proto == protocol), None)


def parse_template(template: dict) -> PodTemplate:
    pod = template["spec"]
    c = pod["containers"][0]
    env = []
    for item in c.get("env") or []:
        if "value" in item:
            env.append((item["name"], str(item["value"])))
    requests = (c.get("resources") or {}).get("requests") or {}
    ports = tuple((p.get("name"), p.get("containerPort"), p.get("protocol", "TCP"))
                  for container in pod["containers"] for p in container.get("ports") or ())
    read_only = bool((c.get("securityContext") or {}).get("readOnlyRootFilesystem"))
    mounts = tuple(m.get("mountPath") for m in c.get("volumeMounts") or ()
                   if m.get("mountPath") and not m.get("readOnly"))
    return PodTemplate(
        labels=tuple(sorted(((template.get("metadata") or {}).get("labels") or {}).items())),
        container=c["name"], image=c["image"], env=tuple(env),
        readiness=Probe.from_spec(c.get("readinessProbe")),
        liveness=Probe.from_spec(c.get("livenessProbe")),
        startup=Probe.from_spec(c.get("startupProbe")),
        pre_stop_sleep_s=_pre_stop_seconds((c.get("lifecycle") or {}).get("preStop")),
        grace_s=pod.get("terminationGracePeriodSeconds", 30),
        cpu_m=parse_cpu(requests.get("cpu", "0")),
        memory_mi=parse_memory(requests.get("memory", "0")),
        extra_containers=len(pod["containers"]) - 1,
        ports=ports,
        own_ports=tuple((p.get("name"), p.get("containerPort")) for p in c.get("ports") or ()),
        writable_dirs=("/dev/shm", *(() if read_only else ("/tmp",)), *mounts),
    )


def _pre_stop_seconds(hook: Optional[dict]) -> float:
    """``sleep: {seconds: N}`` (GA in 1.34) or the older ``exec: [sleep, N]`` / ``sh -c "sleep N"``."""
    if not hook:
        return 0.0
    if "sleep" in hook:
        return float(hook["sleep"].get("seconds", 0))
    command = (hook.get("exec") or {}).get("command") or []
    words = " ".join(str(w) for w in command).replace(";", " ").split()
    for i, word in enumerate(words[:-1]):
        if word.endswith("sleep"):
            try:
                return float(words[i + 1])
            except ValueError:
                break
    raise ManifestError("lifecycle.preStop: the simulator runs `sleep` hooks only "
                        "(sleep: {seconds: N} or exec: [\"sleep\", \"N\"])")


def load_images(path: Optional[Path] = None) -> dict[str, dict]:
    """``cluster/images.yaml`` as {tag: build args} (the app's baked-in environment)."""
    from ._paths import images_path

    path = path or images_path()
    data = yaml.safe_load(path.read_text())
    return {entry["tag"]: {k: str(v) for k, v in (entry.get("args") or {}).items()}
            for entry in data.get("images", [])}


@dataclass
class Notes:
    """Fields reported as not modelled, each once per Lab."""

    seen: set = field(default_factory=set)

    def new(self, names: list[str]) -> list[str]:
        fresh = [n for n in names if n not in self.seen]
        self.seen.update(fresh)
        return fresh
