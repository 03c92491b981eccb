"""The pod template rules of pkg/apis/core/validation, for what a Deployment's template can hold.

Each function names the upstream Go function it follows.  Input is the
decoded, defaulted template (so types are already right: see _schema.py).
"""

from __future__ import annotations

import re

from ._fielderrors import (Errors, is_dns1123_label, unique_name, is_qualified_name, is_valid_port_name,
                           is_valid_port_num, validate_annotations, validate_labels)
from ._quantity import parse_quantity

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_STANDARD_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
# validFieldPathExpressions in validateObjectFieldSelector (core/validation).
_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                "status.hostIPs", "status.podIP", "status.podIPs"]
_SUBSCRIPTED = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def validate_pod_template(template: dict, path: str, errs: Errors) -> None:
    """ValidatePodTemplateSpec + the ReplicaSet-template rules of ValidatePodTemplateSpecForReplicaSet."""
    meta = template.get("metadata") or {}
    validate_labels(meta.get("labels") or {}, f"{path}.metadata.labels", errs)
    validate_annotations(meta.get("annotations") or {}, f"{path}.metadata.annotations", errs)
    spec = template.get("spec") or {}
    sp = f"{path}.spec"
    validate_containers(spec, sp, errs)
    policy = spec.get("restartPolicy", "Always")
    if policy not in ("Always", "OnFailure", "Never"):
        errs.not_supported(f"{sp}.restartPolicy", policy, ["Always", "OnFailure", "Never"])
    elif policy != "Always":
        errs.not_supported(f"{sp}.restartPolicy", policy, ["Always"])
    if "activeDeadlineSeconds" in spec:
        errs.forbidden(f"{sp}.activeDeadlineSeconds",
                       "activeDeadlineSeconds in ReplicaSet is not Supported")


def validate_containers(spec: dict, sp: str, errs: Errors) -> None:
    """validateContainers: at least one; names unique RFC 1123 labels; then each container."""
    containers = spec.get("containers") or []
    if not containers:
        errs.required(f"{sp}.containers")
        return
    names: set = set()
    grace = spec.get("terminationGracePeriodSeconds", 30)
    for i, c in enumerate(containers):
        where = f"{sp}.containers[{i}]"
        name = c.get("name", "")
        if not name:
            errs.required(f"{where}.name")
        else:
            for msg in is_dns1123_label(name):
                errs.invalid(f"{where}.name", name, msg)
            if name in names:
                errs.duplicate(f"{where}.name", name)
            names.add(name)
        image = c.get("image", "")
        if not image:
            errs.required(f"{where}.image")
        elif image.strip() != image:
            errs.invalid(f"{where}.image", image, "must not have leading or trailing whitespace")
        validate_container_ports(c.get("ports") or [], f"{where}.ports", errs)
        validate_env(c.get("env") or [], f"{where}.env", errs)
        validate_resources(c.get("resources") or {}, f"{where}.resources", errs)
        lifecycle = c.get("lifecycle") or {}
        for hook in ("postStart", "preStop"):
            if hook in lifecycle:
                validate_handler(lifecycle[hook], f"{where}.lifecycle.{hook}", errs,
                                 _LIFECYCLE_HANDLERS, grace)
        for probe in PROBES:
            if probe in c:
                validate_probe(c[probe], f"{where}.{probe}", errs, probe)


def validate_container_ports(ports: list, path: str, errs: Errors) -> None:
    """validateContainerPorts: names IANA_SVC_NAME and unique, numbers 1-65535, a protocol."""
    names: set = set()
    for i, port in enumerate(ports):
        where = f"{path}[{i}]"
        name = port.get("name", "")
        if name:
            unique_name(name, f"{where}.name", names, is_valid_port_name, errs)
        number = port.get("containerPort", 0)
        if number == 0:
            errs.required(f"{where}.containerPort")
        else:
            for msg in is_valid_port_num(number):
                errs.invalid(f"{where}.containerPort", number, msg)
        if port.get("hostPort", 0) != 0:
            for msg in is_valid_port_num(port["hostPort"]):
                errs.invalid(f"{where}.hostPort", port["hostPort"], msg)
        protocol = port.get("protocol", "TCP")
        if protocol not in _PROTOCOLS:
            errs.not_supported(f"{where}.protocol", protocol, _PROTOCOLS)


def validate_env(env: list, path: str, errs: Errors) -> None:
    """validateEnv + validateEnvVarValueFrom (relaxed names: GA since Kubernetes 1.34)."""
    for i, var in enumerate(env):
        where = f"{path}[{i}]"
        name = var.get("name", "")
        if not name:
            errs.required(f"{where}.name")
        elif any(ord(ch) > 126 or ord(ch) < 32 or ch == "=" for ch in name):
            errs.invalid(f"{where}.name", name, "a valid environment variable name must consist "
                         "only of printable ASCII characters other than '='")
        source = var.get("valueFrom")
        if source is None:
            continue
        given = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef",
                             "fileKeyRef") if k in source]
        if not given:
            errs.invalid(f"{where}.valueFrom", "", "must specify one of: `fieldRef`, "
                         "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
        elif len(given) > 1:
            errs.invalid(f"{where}.valueFrom", "", "may not have more than one field specified "
                         "at a time")
        if var.get("value"):
            errs.invalid(f"{where}.valueFrom", "", "may not be specified when `value` is not "
                         "empty")
        if "fieldRef" in source:
            field_path = source["fieldRef"].get("fieldPath", "")
            fp = f"{where}.valueFrom.fieldRef.fieldPath"
            if not field_path:
                errs.required(fp)
            elif field_path not in _FIELD_PATHS and not _SUBSCRIPTED.match(field_path):
                errs.not_supported(fp, field_path, _FIELD_PATHS)


def validate_resources(resources: dict, path: str, errs: Errors) -> None:
    """ValidateResourceRequirements: known names, quantities ≥ 0, requests ≤ limits."""
    parsed: dict = {}
    for part in ("limits", "requests"):
        for name, value in (resources.get(part) or {}).items():
            where = f"{path}.{part}[{name}]"
            if name not in _STANDARD_RESOURCES and not name.startswith("hugepages-"):
                if "/" not in name or is_qualified_name(name):
                    errs.invalid(where, name, "must be a standard resource for containers")
                    continue
            quantity = parse_quantity(value)          # already checked by the decoder
            if quantity < 0:
                errs.invalid(where, str(value), "must be greater than or equal to 0")
            parsed[(part, name)] = (quantity, value)
    for (part, name), (quantity, value) in parsed.items():
        limit = parsed.get(("limits", name))
        if part == "requests" and limit is not None and quantity > limit[0]:
            errs.invalid(f"{path}.requests[{name}]", str(value),
                         f"must be less than or equal to {name} limit of {limit[1]}")


def validate_probe(probe: dict, path: str, errs: Errors, which: str) -> None:
    """validateProbe (+ validateContainers' successThreshold and grace rules)."""
    validate_handler(probe, path, errs, _PROBE_HANDLERS, None)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                "failureThreshold"):
        if probe.get(key, 0) < 0:
            errs.invalid(f"{path}.{key}", probe[key], "must be greater than or equal to 0")
    if which in ("livenessProbe", "startupProbe") and probe.get("successThreshold", 1) != 1:
        errs.invalid(f"{path}.successThreshold", probe["successThreshold"], "must be 1")
    if "terminationGracePeriodSeconds" in probe:
        value = probe["terminationGracePeriodSeconds"]
        if which == "readinessProbe":
            errs.invalid(f"{path}.terminationGracePeriodSeconds", value,
                         "must not be set for readinessProbes")
        elif value <= 0:
            errs.invalid(f"{path}.terminationGracePeriodSeconds", value, "must be greater than 0")


def validate_handler(handler: dict, path: str, errs: Errors, kinds: tuple, grace) -> None:
    """validateHandler / validateLifecycleHandler: exactly one handler type, each well formed."""
    given = [k for k in kinds if k in handler]
    if not given:
        errs.required(path, "must specify a handler type")
        return
    for extra in given[1:]:
        errs.forbidden(f"{path}.{extra}", "may not specify more than 1 handler type")
    kind, action = given[0], handler[given[0]]
    where = f"{path}.{kind}"
    if kind == "exec":
        if not action.get("command"):
            errs.required(f"{where}.command")
    elif kind in ("httpGet", "tcpSocket"):
        if kind == "httpGet":
            if not action.get("path"):
                errs.required(f"{where}.path")
            scheme = action.get("scheme", "HTTP")
            if scheme not in ("HTTP", "HTTPS"):
                errs.not_supported(f"{where}.scheme", scheme, ["HTTP", "HTTPS"])
        validate_port_num_or_name(action.get("port", 0), f"{where}.port", errs)
    elif kind == "grpc":
        for msg in is_valid_port_num(action.get("port", 0)):
            errs.invalid(f"{where}.port", action.get("port", 0), msg)
    elif kind == "sleep":
        # validateSleepAction with PodLifecycleSleepActionAllowZero (GA in 1.34).
        seconds = action.get("seconds", 0)
        if grace is not None and (seconds < 0 or seconds > grace):
            errs.invalid(f"{where}.seconds", seconds, "must be non-negative and less than "
                         f"terminationGracePeriodSeconds ({grace})")


def validate_port_num_or_name(port, path: str, errs: Errors) -> None:
    """ValidatePortNumOrName: a number 1-65535 or an IANA_SVC_NAME."""
    if isinstance(port, str):
        for msg in is_valid_port_name(port):
            errs.invalid(path, port, msg)
    else:
        for msg in is_valid_port_num(port):
            errs.invalid(path, port, msg)
