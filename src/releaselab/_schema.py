"""Field types and unknown fields, checked against the real OpenAPI schema, in the API server's words.

Before the API server validates anything it decodes the JSON body into Go
structs, and that is where a wrong type or a misspelt field is caught
(``kubectl apply`` asks for strict field validation, the default since 1.27)::

    Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal
    number into Go struct field Container.spec.template.spec.containers.image of type string

    Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
    unknown field "spec.template.spec.containers[0].imagePullPolice"

The schema is the one ``kubernetes-validate`` ships for the Kubernetes
version the kind node runs (its ``_definitions.json``); this module only
walks it.  ``kubernetes_validate.validate`` itself (jsonschema) took 180 ms
per apply of rolling/web.yaml — a checker applying 50 times would wait 9 s —
and its messages are jsonschema's, not the API server's.  This walk takes
well under a millisecond per object and produces the decoder's wording:
Go struct name (the ``$ref`` definition's last segment), the JSON field
path without list indices (Go's field stack), and the Go type (``int32``
from ``format: int32``, ``[]v1.Container``, ``map[string]string``).

The walk also returns the object as the API server would hold it after
decoding: ``null`` is "not set" (dropped), and a whole float such as
``replicas: 3.0`` is the integer 3 (kubectl sends the YAML number 3.0 as
JSON ``3``).  Unknown fields stop the apply, so nothing unchecked goes on.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Optional

from ._fielderrors import quoted
from ._quantity import QuantityError, parse_quantity
from .errors import ManifestError

#: The Kubernetes minor the kind node image runs (cluster/kind.yaml: kindest/node v1.36).
SCHEMA_VERSION = "1.36"
_INT_RANGE = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
_ROOTS = {"Deployment": "io.k8s.api.apps.v1.Deployment", "Service": "io.k8s.api.core.v1.Service",
          "StatefulSet": "io.k8s.api.apps.v1.StatefulSet"}
#: Deeper nesting than this is refused before any recursive code sees it (Go's
#: JSON decoder stops at 10,000; no real manifest goes past ~20).
MAX_DEPTH = 200


@lru_cache(maxsize=1)
def definitions() -> dict:
    """The ``$defs`` of kubernetes-validate's strict schema for SCHEMA_VERSION (read once)."""
    import importlib.util
    from pathlib import Path

    # Located, not imported: importing kubernetes_validate pulls in jsonschema (slow).
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ManifestError("the kubernetes-validate package is missing; "
                            "pip install -r requirements.txt")
    base = Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"
    versions = sorted((p.name for p in base.iterdir() if p.name.endswith("-local-strict")),
                      key=lambda n: tuple(int(x) for x in n[1:].split("-")[0].split(".")))
    wanted = [n for n in versions if n.startswith(f"v{SCHEMA_VERSION}.")] or versions[-1:]
    return json.loads((base / wanted[0] / "_definitions.json").read_text())["$defs"]


class _Decode:
    def __init__(self, kind: str, version: str):
        self.kind, self.version = kind, version
        self.unknown: list[str] = []
        self.defs = definitions()

    def fail(self, detail: str) -> ManifestError:
        return ManifestError(f'{self.kind} in version "{self.version}" cannot be handled as a '
                             f"{self.kind}: {detail}")

    def type_error(self, value: Any, struct: str, stack: list, go_type: str,
                   number_text: Optional[str] = None) -> ManifestError:
        what = _json_kind(value)
        if number_text is not None:
            what = f"number {number_text}"
        return self.fail(f"json: cannot unmarshal {what} into Go struct field "
                         f"{struct}.{'.'.join(stack)} of type {go_type}")

    # -- the walk ----------------------------------------------------------------------
    def value(self, value: Any, schema: dict, struct: str, stack: list, path: str, depth: int):
        if depth > MAX_DEPTH:
            raise ManifestError(f"{path}: nested more than {MAX_DEPTH} levels deep; no manifest "
                                "needs that, and the kit refuses it")
        ref = schema.get("$ref")
        if ref:
            name = ref.rsplit("/", 1)[-1]
            if name == _QUANTITY:
                return self.quantity(value, path)
            if name == _INT_OR_STRING:
                return self.int_or_string(value, struct, stack)
            if name == _TIME:
                return self.scalar(value, {"type": "string"}, struct, stack)
            target = self.defs[name]
            if "properties" in target:
                return self.struct(value, target, name, struct, stack, path, depth)
            schema = target
        types = _types(schema)
        if "array" in types:
            if not isinstance(value, list):
                raise self.type_error(value, struct, stack, go_type(schema))
            item = schema.get("items", {})
            return [self.value(v if v is not None else _zero(item), item, struct, stack,
                               f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if "object" in types:
            if not isinstance(value, dict):
                raise self.type_error(value, struct, stack, go_type(schema))
            item = schema.get("additionalProperties")
            if not isinstance(item, dict):
                return value
            out = {}
            for key, v in value.items():
                key = _json_key(key)
                if v is None:
                    v = _zero(item)           # Go stores the zero value under the key
                out[key] = self.value(v, item, struct, stack, f"{path}[{key}]", depth + 1)
            return out
        return self.scalar(value, schema, struct, stack)

    def struct(self, value: Any, target: dict, name: str, struct: str, stack: list, path: str,
               depth: int) -> dict:
        if not isinstance(value, dict):
            raise self.type_error(value, struct, stack, _go_name(name))
        props = target["properties"]
        own = name.rsplit(".", 1)[-1]
        out = {}
        for key, v in value.items():
            key = _json_key(key)
            where = f"{path}.{key}" if path else key
            if key not in props:
                self.unknown.append(where)
                continue
            if v is None:
                continue
            out[key] = self.value(v, props[key], own, stack + [key], where, depth + 1)
        return out

    def scalar(self, value: Any, schema: dict, struct: str, stack: list):
        types = _types(schema)
        fmt = schema.get("format")
        if isinstance(value, float) and not math.isfinite(value):
            raise ManifestError(f"json: unsupported value: {value!r} (at {'.'.join(stack)}); "
                                "JSON has no NaN or infinity — give a number")
        if "integer" in types:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.type_error(value, struct, stack, fmt or "int")
            if isinstance(value, float):
                if value != int(value):
                    raise self.type_error(value, struct, stack, fmt or "int", repr(value))
                value = int(value)
            low, high = _INT_RANGE.get(fmt, _INT_RANGE["int64"])
            if not low <= value <= high:
                raise self.type_error(value, struct, stack, fmt or "int", str(value))
            return value
        if "number" in types:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.type_error(value, struct, stack, "float64")
            return value
        if "boolean" in types:
            if not isinstance(value, bool):
                raise self.type_error(value, struct, stack, "bool")
            return value
        if "string" in types:
            if not isinstance(value, str):
                raise self.type_error(value, struct, stack, "string")
            return value
        return value

    def int_or_string(self, value: Any, struct: str, stack: list):
        # intstr.IntOrString.UnmarshalJSON: a JSON string is a string, anything
        # else is decoded as an int32 (so `true` fails as "bool ... of type int32").
        if isinstance(value, str):
            return value
        return self.scalar(value, {"type": "integer", "format": "int32"}, struct, stack)

    def quantity(self, value: Any, path: str):
        # resource.Quantity.UnmarshalJSON: ParseQuantity on the trimmed text; its
        # error carries no field name, so the kit adds where it was.
        try:
            parse_quantity(value if isinstance(value, (str, int, float)) else "x")
        except QuantityError as exc:
            raise self.fail(f"{exc} (at {path}: {value!r})") from None
        if isinstance(value, float) and value == int(value) and abs(value) < 2**63:
            return int(value)
        return value


def decode(obj: dict, kind: str) -> dict:
    """``obj`` as the API server decodes it, or ManifestError with the decoder's message."""
    decoder = _Decode(kind, obj.get("apiVersion", "").rsplit("/", 1)[-1])
    root = decoder.defs[_ROOTS[kind]]
    body = {k: v for k, v in obj.items() if k != "status"}
    out = decoder.struct(body, root, _ROOTS[kind], kind, [], "", 0)
    if decoder.unknown:
        raise decoder.fail("strict decoding error: " +
                           ", ".join(f"unknown field {quoted(u)}" for u in decoder.unknown))
    return out


def _zero(schema: dict):
    """What a JSON null becomes in a Go list or map element: the type's zero value."""
    if "$ref" in schema:
        return {} if not schema["$ref"].endswith((_QUANTITY, _INT_OR_STRING, _TIME)) else "0"
    types = _types(schema)
    for name, zero in (("string", ""), ("integer", 0), ("number", 0), ("boolean", False),
                       ("array", []), ("object", {})):
        if name in types:
            return zero
    return ""


def decode_metadata(obj: dict, kind: str) -> dict:
    """Only ``metadata`` decoded as ObjectMeta: for the Gateway API kinds (CRDs share it)."""
    decoder = _Decode(kind, str(obj.get("apiVersion", "")).rsplit("/", 1)[-1])
    meta = obj.get("metadata")
    if meta is None:
        return {}
    ref = {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    out = decoder.value(meta, ref, kind, ["metadata"], "metadata", 1)
    if decoder.unknown:
        raise decoder.fail("strict decoding error: " +
                           ", ".join(f"unknown field {quoted(u)}" for u in decoder.unknown))
    return out


def _types(schema: dict) -> set:
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


def go_type(schema: dict) -> str:
    """The Go type the decoder names: ``[]v1.Container``, ``map[string]string``, ``int32``."""
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return {_QUANTITY: "resource.Quantity", _INT_OR_STRING: "intstr.IntOrString",
                _TIME: "v1.Time"}.get(name) or _go_name(name)
    types = _types(schema)
    if "array" in types:
        return "[]" + go_type(schema.get("items", {}))
    if "object" in types:
        item = schema.get("additionalProperties")
        if isinstance(item, dict):
            if item.get("$ref", "").endswith(_QUANTITY):
                return "v1.ResourceList"          # a named map type in core/v1
            return "map[string]" + go_type(item)
        return "map[string]interface {}"
    if "integer" in types:
        return schema.get("format") or "int"
    return {"string": "string", "boolean": "bool", "number": "float64"}.get(
        next(iter(types - {"null"}), ""), "interface {}")


def _go_name(definition: str) -> str:
    parts = definition.split(".")
    return f"{parts[-2]}.{parts[-1]}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _json_key(key: Any) -> str:
    # sigs.k8s.io/yaml turns non-string YAML keys into JSON strings: 1 → "1", true → "true".
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)
