"""Load Kubernetes YAML, apply the API server's defaults, reject what it rejects.

Both backends read the same files from ``cluster/manifests/``.  The kind
backend sends them to a real API server; the simulator needs them checked and
defaulted the way that server would, and turned into typed objects
(:class:`PodTemplate`, :class:`Probe`, ...) its kubelet model can run.

Error messages follow the API server's wording
(``Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be
greater than or equal to 0``) so a reader who meets them on a real cluster
recognises them.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from .errors import ManifestError, NotFoundError
from .rollout import int_or_percent

Source = Union[str, os.PathLike, dict, list]

GATEWAY_GROUP = "gateway.networking.k8s.io"
SUPPORTED = {
    ("apps/v1", "Deployment"), ("v1", "Service"),
    (f"{GATEWAY_GROUP}/v1", "Gateway"), (f"{GATEWAY_GROUP}/v1", "HTTPRoute"),
}
_GROUP_OF = {"Deployment": "Deployment.apps", "Service": "Service",
             "Gateway": f"Gateway.{GATEWAY_GROUP}", "HTTPRoute": f"HTTPRoute.{GATEWAY_GROUP}"}

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
    """``cluster/manifests`` of this checkout, or ``$RELEASELAB_MANIFESTS``."""
    override = os.environ.get("RELEASELAB_MANIFESTS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "cluster" / "manifests"


def cluster_dir() -> Path:
    return manifests_root().parent


def load(source: Source) -> list[dict]:
    """Objects from a path (relative paths resolve under cluster/manifests/), YAML text or dicts."""
    if isinstance(source, dict):
        docs = [source]
    elif isinstance(source, list):
        docs = list(source)
    else:
        text = str(source)
        if "\n" in text or ":" in text and not text.endswith((".yaml", ".yml")):
            docs = _parse(text, "the YAML text")
        else:
            path = Path(text)
            if not path.is_absolute():
                path = manifests_root() / path
            if not path.exists():
                raise NotFoundError(f"no manifest {text!r} (looked for {path}); "
                                    f"paths are relative to {manifests_root()}")
            docs = _parse(path.read_text(), str(path))
    docs = [d for d in docs if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            raise ManifestError("a manifest document must be a mapping with apiVersion and kind")
    return [copy.deepcopy(d) for d in docs]


def _parse(text: str, where: str) -> list:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{where} is not valid YAML{at}: {problem}") from None


# --------------------------------------------------------------------------
# Validation and defaults


class _Invalid:
    """Collects the first error with the API server's prefix."""

    def __init__(self, obj: dict):
        kind = obj.get("kind", "?")
        name = (obj.get("metadata") or {}).get("name", "")
        self.prefix = f'{_GROUP_OF.get(kind, kind)} "{name}" is invalid: '

    def __call__(self, path: str, detail: str) -> ManifestError:
        return ManifestError(self.prefix + f"{path}: {detail}")


def validate(obj: dict) -> tuple[dict, list[str]]:
    """Check one object and fill in defaults.  Returns (defaulted copy, notes).

    Notes name fields the simulator does not model, so they are never
    silently ignored.
    """
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if (api, kind) not in SUPPORTED:
        known = ", ".join(f"{a} {k}" for a, k in sorted(SUPPORTED))
        raise ManifestError(f"cannot apply {api} {kind}: releaselab labs use {known}")
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    if not meta.get("name"):
        raise ManifestError(f"{kind}: metadata.name: Required value")
    meta.setdefault("namespace", "releaselab")
    meta.setdefault("labels", {})
    handler = {"Deployment": _deployment, "Service": _service,
               "Gateway": _gateway, "HTTPRoute": _httproute}[kind]
    notes = handler(obj, _Invalid(obj))
    return obj, notes


def _deployment(obj: dict, invalid: _Invalid) -> list[str]:
    spec = obj.setdefault("spec", {})
    replicas = spec.setdefault("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise invalid("spec.replicas", f"Invalid value: {replicas!r}: must be an integer")
    if replicas < 0:
        raise invalid("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")
    for key, default in (("revisionHistoryLimit", 10), ("progressDeadlineSeconds", 600),
                         ("minReadySeconds", 0)):
        value = spec.setdefault(key, default)
        if not isinstance(value, int) or value < 0:
            raise invalid(f"spec.{key}", f"Invalid value: {value!r}: must be greater than or equal to 0")
    if spec["progressDeadlineSeconds"] <= spec["minReadySeconds"]:
        raise invalid("spec.progressDeadlineSeconds",
                      f"Invalid value: {spec['progressDeadlineSeconds']}: must be greater than minReadySeconds")
    spec.setdefault("paused", False)
    _strategy(spec, invalid)
    selector = (spec.get("selector") or {}).get("matchLabels")
    if not selector:
        raise invalid("spec.selector", "Required value")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        raise invalid("spec.template.metadata.labels",
                      f"Invalid value: {labels}: `selector` does not match template `labels` "
                      f"(selector {selector}); make the template's labels include the selector's")
    return _pod_template(template, invalid)


def _strategy(spec: dict, invalid: _Invalid) -> None:
    strategy = spec.setdefault("strategy", {})
    stype = strategy.setdefault("type", "RollingUpdate")
    if stype not in ("RollingUpdate", "Recreate"):
        raise invalid("spec.strategy.type",
                      f'Unsupported value: "{stype}": supported values: "Recreate", "RollingUpdate"')
    if stype == "Recreate":
        if strategy.get("rollingUpdate"):
            raise invalid("spec.strategy.rollingUpdate",
                          "Forbidden: may not be specified when strategy `type` is 'Recreate'")
        return
    ru = strategy.setdefault("rollingUpdate", {})
    ru.setdefault("maxSurge", "25%")
    ru.setdefault("maxUnavailable", "25%")
    for key in ("maxSurge", "maxUnavailable"):
        value = ru[key]
        path = f"spec.strategy.rollingUpdate.{key}"
        try:
            resolved = int_or_percent(value, 100, round_up=False, field=path)
        except ManifestError as exc:
            raise ManifestError(invalid.prefix + str(exc)) from None
        if resolved < 0:
            raise invalid(path, f"Invalid value: {value!r}: must be greater than or equal to 0")
    if isinstance(ru["maxUnavailable"], str) and int(ru["maxUnavailable"][:-1]) > 100:
        raise invalid("spec.strategy.rollingUpdate.maxUnavailable",
                      f"Invalid value: {ru['maxUnavailable']!r}: must not be greater than 100%")
    if _is_zero(ru["maxSurge"]) and _is_zero(ru["maxUnavailable"]):
        raise invalid("spec.strategy.rollingUpdate.maxUnavailable",
                      "Invalid value: 0: may not be 0 when `maxSurge` is 0")


def _is_zero(value: Any) -> bool:
    return value == 0 or value == "0%"


def _pod_template(template: dict, invalid: _Invalid) -> list[str]:
    pod = template.setdefault("spec", {})
    notes = [f"spec.template.spec.{k}" for k in pod
             if k not in _MODELLED_POD and k not in NO_EFFECT_FIELDS]
    pod.setdefault("terminationGracePeriodSeconds", 30)
    containers = pod.get("containers") or []
    if not containers:
        raise invalid("spec.template.spec.containers", "Required value")
    for i, c in enumerate(containers):
        where = f"spec.template.spec.containers[{i}]"
        if not c.get("name"):
            raise invalid(f"{where}.name", "Required value")
        if not c.get("image"):
            raise invalid(f"{where}.image", "Required value: every container needs an image, "
                          "e.g. image: releaselab/web:1.0")
        notes += [f"{where}.{k}" for k in c
                  if k not in _MODELLED_CONTAINER and k not in NO_EFFECT_FIELDS]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if c.get(probe) is not None:
                _probe_defaults(c[probe], f"{where}.{probe}", invalid, probe)
    return notes


def _probe_defaults(probe: dict, where: str, invalid: _Invalid, which: str) -> None:
    for key, default in (("initialDelaySeconds", 0), ("periodSeconds", 10), ("timeoutSeconds", 1),
                         ("successThreshold", 1), ("failureThreshold", 3)):
        value = probe.setdefault(key, default)
        minimum = 0 if key == "initialDelaySeconds" else 1
        if not isinstance(value, int) or value < minimum:
            raise invalid(f"{where}.{key}", f"Invalid value: {value!r}: must be greater than or "
                          f"equal to {minimum}")
    if which != "readinessProbe" and probe["successThreshold"] != 1:
        raise invalid(f"{where}.successThreshold", "Invalid value: must be 1")
    if not any(k in probe for k in ("httpGet", "tcpSocket", "exec", "grpc")):
        raise invalid(where, "Required value: must specify a handler type (httpGet, tcpSocket, exec)")


def _service(obj: dict, invalid: _Invalid) -> list[str]:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] not in ("ClusterIP", "NodePort", "LoadBalancer"):
        raise invalid("spec.type", f'Unsupported value: "{spec["type"]}": supported values: '
                      '"ClusterIP", "LoadBalancer", "NodePort"')
    if not spec.get("ports"):
        raise invalid("spec.ports", "Required value")
    for i, port in enumerate(spec["ports"]):
        if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
            raise invalid(f"spec.ports[{i}].port", f"Invalid value: {port.get('port')!r}: "
                          "must be between 1 and 65535, inclusive")
        port.setdefault("targetPort", port["port"])
    spec.setdefault("selector", {})
    return []


def _gateway(obj: dict, invalid: _Invalid) -> list[str]:
    spec = obj.setdefault("spec", {})
    if not spec.get("gatewayClassName"):
        raise invalid("spec.gatewayClassName", "Required value")
    if not spec.get("listeners"):
        raise invalid("spec.listeners", "Required value")
    return []


def _httproute(obj: dict, invalid: _Invalid) -> list[str]:
    spec = obj.setdefault("spec", {})
    if not spec.get("parentRefs"):
        raise invalid("spec.parentRefs", "Required value: name the Gateway this route attaches to")
    for i, rule in enumerate(spec.get("rules") or []):
        for j, ref in enumerate(rule.get("backendRefs") or []):
            where = f"spec.rules[{i}].backendRefs[{j}]"
            if not ref.get("name"):
                raise invalid(f"{where}.name", "Required value")
            weight = ref.setdefault("weight", 1)
            if not isinstance(weight, int) or weight < 0:
                raise invalid(f"{where}.weight", f"Invalid value: {weight!r}: {where}.weight in "
                              "body should be greater than or equal to 0")
            if weight > 1_000_000:
                raise invalid(f"{where}.weight", f"Invalid value: {weight}: {where}.weight in "
                              "body should be less than or equal to 1000000")
    return []


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


def parse_cpu(value: Union[str, int, float]) -> int:
    text = str(value)
    try:
        return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)
    except ValueError:
        raise ManifestError(f"resources: cpu {value!r} is not a quantity (e.g. 100m or 0.5)") from None


_MEM = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}


def parse_memory(value: Union[str, int]) -> int:
    text = str(value)
    for suffix in ("Ki", "Mi", "Gi", "K", "M", "G"):
        if text.endswith(suffix):
            try:
                return int(float(text[: -len(suffix)]) * _MEM[suffix])
            except ValueError:
                break
    else:
        try:
            return int(int(text) / 2**20)
        except ValueError:
            pass
    raise ManifestError(f"resources: memory {value!r} is not a quantity (e.g. 64Mi or 1Gi)")


def load_images(path: Optional[Path] = None) -> dict[str, dict]:
    """``cluster/images.yaml`` as {tag: build args} (the app's baked-in environment)."""
    path = path or cluster_dir() / "images.yaml"
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
