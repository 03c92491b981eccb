"""Field errors worded as the API server words them, and the name/label rules behind most of them.

``k8s.io/apimachinery/pkg/util/validation/field`` (errors.go) prints an error
as ``<path>: <Type>: <value>: <detail>``; a list of several is shown as
``[e1, e2]`` after ``<Kind>.<group> "<name>" is invalid: ``.  Values print
as Go prints them: strings quoted (``"Web"``), numbers bare, a label map as
``map[string]string{"app":"api"}``.  The checks below are the apimachinery
functions of the same name (util/validation/validation.go,
api/validate/content/kube.go), message for message.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ManifestError


def go_value(value: Any) -> str:
    """A bad value as ``field.Error.ErrorBody`` prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return json.dumps(value, sort_keys=True, default=str)


def quoted(name: str) -> str:
    """A field name as Go's %q prints it in "unknown field %q": quoted, escapes kept on one line."""
    return json.dumps(name, ensure_ascii=False)


class Errors(list):
    """An ErrorList: validation functions append, the caller raises all at once."""

    def required(self, path: str, detail: str = "") -> None:
        self.append(f"{path}: Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.append(f"{path}: Invalid value: {go_value(value)}: {detail}")

    def not_supported(self, path: str, value: Any, valid: list) -> None:
        self.append(f"{path}: Unsupported value: {go_value(value)}: supported values: " +
                    ", ".join(json.dumps(v) for v in valid))

    def forbidden(self, path: str, detail: str) -> None:
        self.append(f"{path}: Forbidden: {detail}")

    def duplicate(self, path: str, value: Any) -> None:
        self.append(f"{path}: Duplicate value: {go_value(value)}")

    def too_long(self, path: str, limit: int) -> None:
        self.append(f"{path}: Too long: must have at most {limit} bytes")

    def raise_for(self, prefix: str) -> None:
        if not self:
            return
        unique = list(dict.fromkeys(self))          # ErrorList.ToAggregate drops repeats
        body = unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
        raise ManifestError(prefix + body)


def unique_name(name: str, path: str, seen: set, rule, errs: Errors) -> None:
    """A name that must pass ``rule`` and appear once in its list (ports, containers)."""
    for msg in rule(name):
        errs.invalid(path, name, msg)
    if name in seen:
        errs.duplicate(path, name)
    seen.add(name)


# --- util/validation/validation.go ---------------------------------------------------------
DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_RE = re.compile(f"^{DNS1123_LABEL}$")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN}$")
_DNS1035_RE = re.compile(f"^{DNS1035_LABEL}$")


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """RegexError: ``msg (e.g. 'a' or 'b', regex used for validation is 'fmt')``."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{msg} (e.g. {shown}, regex used for validation is '{fmt}')"


def is_dns1123_label(value: str) -> list:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _LABEL_RE.match(value):
        if _SUBDOMAIN_RE.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error("a lowercase RFC 1123 label must consist of lower case "
                                    "alphanumeric characters or '-', and must start and end "
                                    "with an alphanumeric character", DNS1123_LABEL,
                                    "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list:
    errs = []
    if len(value) > 253:
        errs.append(max_len_error(253))
    if not _SUBDOMAIN_RE.match(value):
        errs.append(regex_error("a lowercase RFC 1123 subdomain must consist of lower case "
                                "alphanumeric characters, '-' or '.', and must start and end "
                                "with an alphanumeric character", DNS1123_SUBDOMAIN,
                                "example.com"))
    return errs


def is_dns1035_label(value: str) -> list:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _DNS1035_RE.match(value):
        errs.append(regex_error("a DNS-1035 label must consist of lower case alphanumeric "
                                "characters or '-', start with an alphabetic character, and end "
                                "with an alphanumeric character", DNS1035_LABEL,
                                "my-name", "abc-123"))
    return errs


_PORT_NAME_CHARS = re.compile(r"^[-a-z0-9]+$")


def is_valid_port_name(port: str) -> list:
    """IsValidPortName (IANA_SVC_NAME): at most 15 characters, [-a-z0-9], a letter, no '--'."""
    errs = []
    if len(port) > 15:
        errs.append(max_len_error(15))
    if not _PORT_NAME_CHARS.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_valid_port_num(port: int) -> list:
    return [] if 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


# --- api/validate/content/kube.go ---------------------------------------------------------
_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_KEY_RE = re.compile(f"^{_KEY_FMT}$")
_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character")


def is_qualified_name(value: str) -> list:
    """IsLabelKey / IsQualifiedName: ``[prefix/]name``, name ≤ 63, prefix a DNS subdomain."""
    errs = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return ["a valid label key " + regex_error(_KEY_MSG, _KEY_FMT, "MyName", "my.name",
                                                   "123-abc") +
                " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _KEY_RE.match(name):
        errs.append("name part " + regex_error(_KEY_MSG, _KEY_FMT, "MyName", "my.name",
                                               "123-abc"))
    return errs


_VALUE_FMT = f"({_KEY_FMT})?"
_VALUE_RE = re.compile(f"^{_VALUE_FMT}$")


def is_valid_label_value(value: str) -> list:
    errs = []
    if len(value) > 63:
        errs.append(max_len_error(63))
    if not _VALUE_RE.match(value):
        errs.append(regex_error("a valid label must be an empty string or consist of "
                                "alphanumeric characters, '-', '_' or '.', and must start and "
                                "end with an alphanumeric character", _VALUE_FMT,
                                "MyValue", "my_value", "12345"))
    return errs


def validate_labels(labels: dict, path: str, errs: Errors) -> None:
    """ValidateLabels (apimachinery meta/v1/validation): keys then values, on the map's path."""
    for key, value in labels.items():
        for msg in is_qualified_name(key):
            errs.invalid(path, key, msg)
        for msg in is_valid_label_value(value):
            errs.invalid(path, value, msg)


#: TotalAnnotationSizeLimitB (apimachinery/pkg/api/validation/objectmeta.go): 256 KiB.
TOTAL_ANNOTATION_SIZE = 256 * (1 << 10)


def validate_annotations(annotations: dict, path: str, errs: Errors) -> None:
    """ValidateAnnotations: keys are qualified names (lower-cased first), total ≤ 256 KiB."""
    total = 0
    for key, value in annotations.items():
        for msg in is_qualified_name(key.lower()):
            errs.invalid(path, key, msg)
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE:
        errs.too_long(path, TOTAL_ANNOTATION_SIZE)
