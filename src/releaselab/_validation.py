"""What the API server does to an object between decoding and storing it: defaults, then validation.

The order is the server's: decode (types, unknown fields: _schema.py), then
the defaulting functions (``SetDefaults_Deployment``, ``SetDefaults_Probe``,
...), then the validation functions (``ValidateDeployment``,
``ValidateService``), whose errors are reported together on one line.
Each rule below names the Go function it follows.  Rules that live in the
OpenAPI schema are not repeated here.

Not reproduced (types and unknown fields of these are still checked by the
decoder; their Go value rules are not): admission (quotas, LimitRange,
PodSecurity), volumes and mounts, initContainers, affinity, tolerations,
securityContext values, dnsPolicy/dnsConfig, imagePullPolicy values; Service
clusterIP/ipFamilies allocation and immutability, traffic policies,
sessionAffinityConfig, nodePorts already taken by another Service; the
Gateway API CRDs' CEL rules and match/filter contents.  Quantities are
echoed as written, not in the server's canonical form ("2", not "2000m").
"""

from __future__ import annotations

import copy

from . import _gatewayschema, _schema
from ._fielderrors import (Errors, is_dns1035_label, unique_name, is_dns1123_label, is_dns1123_subdomain,
                           is_qualified_name, is_valid_label_value, is_valid_port_name,
                           is_valid_port_num, validate_annotations, validate_labels)
from ._podvalidation import PROBES, validate_pod_template
from ._statefulset import default_statefulset, validate_statefulset_spec
from .errors import ManifestError

GATEWAY_GROUP = "gateway.networking.k8s.io"
GROUP_OF = {"Deployment": "Deployment.apps", "Service": "Service",
            "Gateway": f"Gateway.{GATEWAY_GROUP}", "HTTPRoute": f"HTTPRoute.{GATEWAY_GROUP}",
            "StatefulSet": "StatefulSet.apps"}
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
#: The apiserver's default --service-node-port-range.
NODE_PORT_RANGE = (30000, 32767)
_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"]


def prefix_of(obj: dict) -> str:
    kind = obj.get("kind", "?")
    name = (obj.get("metadata") or {}).get("name", "")
    return f'{GROUP_OF.get(kind, kind)} "{name}" is invalid: '


def check(obj: dict) -> dict:
    """Decode, default and validate one object; returns the object as the server would store it."""
    kind = obj["kind"]
    if kind in ("Gateway", "HTTPRoute"):
        metadata = _schema.decode_metadata(obj, kind)
        _gatewayschema.check(obj, kind, prefix_of(obj))
        obj = copy.deepcopy(obj)
        obj["metadata"] = metadata
    else:
        obj = _schema.decode(obj, kind)
    obj.setdefault("metadata", {})
    errs = Errors()
    meta_rules(obj, errs, is_dns1035_label if kind == "Service" else is_dns1123_subdomain)
    if kind == "Deployment":
        default_deployment(obj)
        validate_deployment_spec(obj["spec"], errs)
    elif kind == "Service":
        default_service(obj)
        validate_service_spec(obj["spec"], errs)
    elif kind == "StatefulSet":
        default_statefulset(obj, default_pod_template)
        validate_statefulset_spec(obj["spec"], errs, validate_selected_template)
    else:
        default_gateway_api(obj)
    errs.raise_for(prefix_of(obj))
    return obj


def meta_rules(obj: dict, errs: Errors, name_rule) -> None:
    """ValidateObjectMeta: a name that passes the kind's name rule, labels, annotations."""
    meta = obj["metadata"]
    name = meta.get("name", "")
    if not name:
        errs.required("metadata.name", "name or generateName is required")
    else:
        for msg in name_rule(name):
            errs.invalid("metadata.name", name, msg)
    validate_labels(meta.get("labels") or {}, "metadata.labels", errs)
    validate_annotations(meta.get("annotations") or {}, "metadata.annotations", errs)


# --- Deployment ----------------------------------------------------------------------------

def default_deployment(obj: dict) -> None:
    """SetDefaults_Deployment (apps/v1) and the pod-template defaults the simulator reads."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("minReadySeconds", 0)
    spec.setdefault("paused", False)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxSurge", "25%")
        ru.setdefault("maxUnavailable", "25%")
    default_pod_template(spec.setdefault("template", {}))


def default_pod_template(template: dict) -> None:
    """SetDefaults_PodSpec and the container defaults the simulator reads."""
    pod = template.setdefault("spec", {})
    pod.setdefault("terminationGracePeriodSeconds", 30)     # SetDefaults_PodSpec
    pod.setdefault("restartPolicy", "Always")
    for c in pod.get("containers") or []:
        for port in c.get("ports") or []:
            port.setdefault("protocol", "TCP")                # SetDefaults_ContainerPort
        for probe in PROBES:
            if probe in c:
                default_probe(c[probe])
        lifecycle = c.get("lifecycle") or {}
        for hook in lifecycle.values():
            if isinstance(hook.get("httpGet"), dict):
                hook["httpGet"].setdefault("path", "/")
                hook["httpGet"].setdefault("scheme", "HTTP")


def default_probe(probe: dict) -> None:
    """SetDefaults_Probe: 0 (or unset) means the default, so ``periodSeconds: 0`` is 10."""
    for key, default in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                         ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = default
    probe.setdefault("initialDelaySeconds", 0)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")                # SetDefaults_HTTPGetAction
        probe["httpGet"].setdefault("scheme", "HTTP")


def validate_deployment_spec(spec: dict, errs: Errors) -> None:
    """ValidateDeploymentSpec (pkg/apis/apps/validation), in its order."""
    _nonnegative(spec, "replicas", "spec", errs)
    validate_selected_template(spec, errs, "deployment")
    validate_strategy(spec.get("strategy") or {}, errs)
    _nonnegative(spec, "minReadySeconds", "spec", errs)
    _nonnegative(spec, "revisionHistoryLimit", "spec", errs)
    _nonnegative(spec, "progressDeadlineSeconds", "spec", errs)
    if spec["progressDeadlineSeconds"] <= spec["minReadySeconds"]:
        errs.invalid("spec.progressDeadlineSeconds", spec["progressDeadlineSeconds"],
                     "must be greater than minReadySeconds")


def validate_selected_template(spec: dict, errs: Errors, owner: str) -> None:
    """The selector and pod-template rules every workload kind shares (``owner``: "deployment",
    "statefulset"): ValidateLabelSelector, a non-empty selector, and
    ValidatePodTemplateSpecForReplicaSet — the selector must select the template's labels."""
    selector = spec.get("selector")
    if selector is None:
        errs.required("spec.selector")
    else:
        validate_label_selector(selector, "spec.selector", errs)
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            errs.invalid("spec.selector", selector, f"empty selector is invalid for {owner}")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector and (selector.get("matchLabels") or selector.get("matchExpressions")) \
            and not selector_matches(selector, labels):
        errs.invalid("spec.template.metadata.labels", labels,
                     "`selector` does not match template `labels`")
    validate_pod_template(template, "spec.template", errs)


def _nonnegative(spec: dict, key: str, path: str, errs: Errors) -> None:
    """ValidateNonnegativeField."""
    if spec.get(key, 0) < 0:
        errs.invalid(f"{path}.{key}", spec[key], "must be greater than or equal to 0")


def validate_strategy(strategy: dict, errs: Errors) -> None:
    """ValidateDeploymentStrategy + ValidateRollingUpdateDeployment."""
    stype = strategy.get("type")
    if stype == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            errs.forbidden("spec.strategy.rollingUpdate",
                           "may not be specified when strategy `type` is 'Recreate'")
        return
    if stype != "RollingUpdate":
        # field.NotSupported(fldPath, strategy, ...) prints the whole struct with %#v.
        ru = "nil" if strategy.get("rollingUpdate") is None else "..."
        errs.append(f'spec.strategy: Unsupported value: apps.DeploymentStrategy{{Type:"{stype}", '
                    f"RollingUpdate:(*apps.RollingUpdateDeployment)({ru})}}: supported values: "
                    '"Recreate", "RollingUpdate"')
        return
    ru = strategy.get("rollingUpdate") or {}
    path = "spec.strategy.rollingUpdate"
    values = {}
    for key in ("maxUnavailable", "maxSurge"):
        value = ru.get(key, 0)
        values[key] = _int_or_percent(value, f"{path}.{key}", errs)
    if values["maxUnavailable"] == 0 and values["maxSurge"] == 0:
        errs.invalid(f"{path}.maxUnavailable", ru.get("maxUnavailable", 0),
                     "may not be 0 when `maxSurge` is 0")
    if isinstance(ru.get("maxUnavailable"), str) and values["maxUnavailable"] is not None \
            and values["maxUnavailable"] > 100:
        errs.invalid(f"{path}.maxUnavailable", ru["maxUnavailable"],
                     "must not be greater than 100%")


def _int_or_percent(value, path: str, errs: Errors):
    """ValidatePositiveIntOrPercent; returns the number (percent or int) or None if invalid."""
    if isinstance(value, str):
        if not value.endswith("%") or not value[:-1].isdigit() or not value[:-1].isascii():
            errs.invalid(path, value, "a valid percent string must be a numeric string followed "
                         "by an ending '%' (e.g. '1%' or '93%', regex used for validation is "
                         "'[0-9]+%')")
            return None
        return int(value[:-1])
    if value < 0:
        errs.invalid(path, value, "must be greater than or equal to 0")
    return value


def validate_label_selector(selector: dict, path: str, errs: Errors) -> None:
    """ValidateLabelSelector (AllowInvalidLabelValueInSelector: false)."""
    for i, req in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        op, values = req.get("operator", ""), req.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.required(f"{where}.values",
                              "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.forbidden(f"{where}.values",
                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        else:
            errs.not_supported(f"{where}.operator", op, _OPERATORS)
        for msg in is_qualified_name(req.get("key", "")):
            errs.invalid(f"{where}.key", req.get("key", ""), msg)
        for j, value in enumerate(values):
            for msg in is_valid_label_value(value):
                errs.invalid(f"{where}.values[{j}]", value, msg)
    validate_labels(selector.get("matchLabels") or {}, f"{path}.matchLabels", errs)


def selector_matches(selector: dict, labels: dict) -> bool:
    """labels.Selector.Matches for a LabelSelector (matchLabels AND every matchExpression)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


# --- Service -------------------------------------------------------------------------------

def default_service(obj: dict) -> None:
    """SetDefaults_Service: type ClusterIP, protocol TCP, targetPort = port, affinity None."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and "port" in port:
            port["targetPort"] = port["port"]
    if spec["type"] != "ExternalName":
        spec.setdefault("selector", {})


def validate_service_spec(spec: dict, errs: Errors) -> None:
    """ValidateService: type, ports (names, numbers, nodePorts), selector, externalName."""
    stype = spec["type"]
    if stype not in SERVICE_TYPES:
        errs.not_supported("spec.type", stype, SERVICE_TYPES)
    ports = spec.get("ports") or []
    if stype == "ExternalName":
        name = spec.get("externalName", "")
        if not name:
            errs.required("spec.externalName")
        else:
            for msg in is_dns1123_subdomain(name.rstrip(".")):
                errs.invalid("spec.externalName", name, msg)
    elif not ports and spec.get("clusterIP") != "None":
        errs.required("spec.ports")
    names: set = set()
    seen: set = set()
    for i, port in enumerate(ports):
        where = f"spec.ports[{i}]"
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            errs.required(f"{where}.name")
        elif name:
            unique_name(name, f"{where}.name", names, is_dns1123_label, errs)
        for msg in is_valid_port_num(port.get("port", 0)):
            errs.invalid(f"{where}.port", port.get("port", 0), msg)
        if port.get("protocol") not in ("SCTP", "TCP", "UDP"):
            errs.not_supported(f"{where}.protocol", port.get("protocol"), ["SCTP", "TCP", "UDP"])
        key = (port.get("port"), port.get("protocol"))
        if key in seen:
            errs.duplicate(where, f"{key[0]}/{key[1]}")
        seen.add(key)
        target = port.get("targetPort", 0)
        if isinstance(target, str):
            for msg in is_valid_port_name(target):
                errs.invalid(f"{where}.targetPort", target, msg)
        else:
            for msg in is_valid_port_num(target):
                errs.invalid(f"{where}.targetPort", target, msg)
        node_port = port.get("nodePort", 0)
        if node_port:
            if stype in ("ClusterIP", "ExternalName"):
                errs.forbidden(f"{where}.nodePort", f"may not be used when `type` is '{stype}'")
            elif not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
                # The NodePort allocator's refusal (registry/core/service/portallocator).
                errs.invalid(f"{where}.nodePort", node_port, "provided port is not in the valid "
                             "range. The range of valid ports is "
                             f"{NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}")
    validate_labels(spec.get("selector") or {}, "spec.selector", errs)
    affinity = spec.get("sessionAffinity")
    if affinity not in ("ClientIP", "None"):
        errs.not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"])


# --- Gateway API -----------------------------------------------------------------------------

def default_gateway_api(obj: dict) -> None:
    """The CRD's defaults the simulator reads: backendRefs[].weight 1, group/kind of a Service."""
    spec = obj.setdefault("spec", {})
    for rule in spec.get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            ref.setdefault("weight", 1)


def check_namespace(obj: dict, namespace: str) -> None:
    """The kit's namespace rule: the kind backend's guard decides, so the line is the same."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and meta.get("namespace") not in (None, "", namespace):
        from .kube import _guard      # pure rules, no kubernetes import

        _guard.prepare_for_apply({"kind": obj.get("kind"), "metadata": {
            "name": meta.get("name"), "namespace": meta["namespace"]}}, namespace)


def require_mapping(obj) -> None:
    """kubectl decodes apiVersion and kind before anything else: both strings."""
    if not isinstance(obj, dict) or "kind" not in obj:
        raise ManifestError("a manifest document must be a mapping with apiVersion and kind")
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key, ""), str):
            raise ManifestError(f"json: cannot unmarshal {type(obj[key]).__name__} into Go "
                                f"struct field .{key} of type string; {key} is a string such "
                                f"as {'apps/v1' if key == 'apiVersion' else 'Deployment'}")
