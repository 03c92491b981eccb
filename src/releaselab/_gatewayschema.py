"""Gateway and HTTPRoute (Gateway API v1, CRDs): the OpenAPI rules of their CRDs, in the CRD wording.

A CRD is validated by its OpenAPI schema (k8s.io/apiextensions-apiserver),
which words errors as ``spec.rules[0].backendRefs[0].weight: Invalid value:
2000000: spec.rules[0].backendRefs[0].weight in body should be less than or
equal to 1000000``.  No Python package ships the Gateway API CRDs, so the
part of their schema the labs touch is written down here from
gateway.networking.k8s.io_httproutes.yaml / _gateways.yaml (standard channel,
v1.x): types, required fields, numeric ranges, list lengths.  Fields the
schema has but this subset does not list are passed through unchecked (noted
in ``OPEN``), never refused: the real CRD may accept them.
"""

from __future__ import annotations

from typing import Any

from ._fielderrors import Errors, go_value, quoted
from .errors import ManifestError

_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_OPEN = {"type": "object"}               # checked as an object only
_OPEN_LIST = {"type": "array"}
_PARENT_REF = {"type": "object", "required": ["name"], "properties": {
    "group": {"type": "string"}, "kind": {"type": "string"}, "namespace": _NAME, "name": _NAME,
    "sectionName": _NAME, "port": _PORT}}
_BACKEND_REF = {"type": "object", "required": ["name"], "properties": {
    "group": {"type": "string"}, "kind": {"type": "string"}, "namespace": _NAME, "name": _NAME,
    "port": _PORT, "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
    "filters": _OPEN_LIST}}
_RULE = {"type": "object", "properties": {
    "name": _NAME, "matches": _OPEN_LIST, "filters": _OPEN_LIST, "timeouts": _OPEN,
    "retry": _OPEN, "sessionPersistence": _OPEN,
    "backendRefs": {"type": "array", "maxItems": 16, "items": _BACKEND_REF}}}
_META = {"type": "object"}
# Both CRDs declare `status` and serve it as a subresource: a status sent in an
# apply body is known to the decoder and then ignored (an object read back with
# lab.get() and applied again is accepted, as on a real API server).
_STATUS = _OPEN
_LISTENER = {"type": "object", "required": ["name", "port", "protocol"], "properties": {
    "name": _NAME, "hostname": {"type": "string"}, "port": _PORT,
    "protocol": {"type": "string", "minLength": 1, "maxLength": 255}, "tls": _OPEN,
    "allowedRoutes": _OPEN}}
SCHEMAS = {
    "HTTPRoute": {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _META,
        "status": _STATUS,
        "spec": {"type": "object", "properties": {
            "parentRefs": {"type": "array", "maxItems": 32, "items": _PARENT_REF},
            "hostnames": {"type": "array", "maxItems": 16, "items": {"type": "string"}},
            "rules": {"type": "array", "maxItems": 16, "items": _RULE}}}}},
    "Gateway": {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _META,
        "status": _STATUS,
        "spec": {"type": "object", "required": ["gatewayClassName", "listeners"], "properties": {
            "gatewayClassName": _NAME,
            "listeners": {"type": "array", "minItems": 1, "maxItems": 64, "items": _LISTENER},
            "addresses": _OPEN_LIST, "infrastructure": _OPEN, "allowedListeners": _OPEN,
            "tls": _OPEN}}}},
}
_PY = {"string": str, "integer": int, "object": dict, "array": list, "boolean": bool}


def check(obj: dict, kind: str, prefix: str) -> None:
    """Unknown fields first (the decoder), then the schema's rules (all errors at once)."""
    unknown: list = []
    errs = Errors()
    _walk(obj, SCHEMAS[kind], "", unknown, errs)
    if unknown:
        version = str(obj.get("apiVersion", "")).rsplit("/", 1)[-1]
        raise ManifestError(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                            "strict decoding error: " +
                            ", ".join(f"unknown field {quoted(u)}" for u in unknown))
    errs.raise_for(prefix)


def _walk(value: Any, schema: dict, path: str, unknown: list, errs: Errors) -> None:
    want = schema.get("type")
    ok = isinstance(value, _PY[want]) and not (want == "integer" and isinstance(value, bool))
    if not ok:
        shown = _type_name(value)
        errs.append(f"{path}: Invalid value: {go_value(shown)}: {path} in body must be of type "
                    f"{want}: {go_value(shown)}")
        return
    if want == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            errs.invalid(path, value, f"{path} in body should be greater than or equal to "
                         f"{schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errs.invalid(path, value, f"{path} in body should be less than or equal to "
                         f"{schema['maximum']}")
    elif want == "string":
        if len(value) < schema.get("minLength", 0):
            errs.invalid(path, value, f"{path} in body should be at least "
                         f"{schema['minLength']} chars long")
        if len(value) > schema.get("maxLength", len(value)):
            errs.append(f"{path}: Too long: may not be more than {schema['maxLength']} bytes")
    elif want == "array":
        if len(value) > schema.get("maxItems", len(value)):
            errs.append(f"{path}: Too many: {len(value)}: must have at most "
                        f"{schema['maxItems']} items")
        if len(value) < schema.get("minItems", 0):
            errs.invalid(path, len(value), f"{path} in body should have at least "
                         f"{schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _walk(item, schema["items"], f"{path}[{i}]", unknown, errs)
    elif want == "object" and "properties" in schema:
        props = schema["properties"]
        for key in schema.get("required", []):
            if value.get(key) is None:
                errs.required(f"{path}.{key}" if path else key)
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in props:
                unknown.append(where)
            elif item is not None:
                _walk(item, props[key], where, unknown, errs)


def _type_name(value: Any) -> str:
    # kube-openapi shows the JSON type of the bad value as the "Invalid value".
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "null")
