"""The safety rails of the real-cluster path.

A lab must never be one typo away from a production cluster, so the kube
backend

- talks only to the kit's own kubeconfig context ``kind-releaselab`` unless the
  caller names another one explicitly (``KubeBackend(context=...)`` or
  ``$RELEASELAB_KUBE_CONTEXT``).  It never follows the kubeconfig's
  *current* context to a foreign cluster: that is the context a reader left
  selected yesterday for work;
- checks where that context points, not only its name: a kind cluster's API
  server listens on this machine (kind writes ``https://127.0.0.1:<port>``),
  so a context *named* ``kind-releaselab`` whose server is another host (a
  copied kubeconfig, a renamed production context) is refused unless the
  reader names it explicitly;
- reads the kubeconfig itself first (:func:`read_kubeconfig`), so a file
  that is not one — a YAML list, broken YAML, a binary — is one line, not a
  traceback from the client's loader;
- works only in namespace ``releaselab``, and changes or deletes only objects
  carrying the label ``app.kubernetes.io/managed-by: releaselab`` (apply adds
  the label and the namespace when a manifest lacks them).

Everything here is pure (dicts and strings in, decisions out), so it is
tested without a cluster and runs before any HTTP request is made.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from pathlib import Path
from typing import Iterable, Optional
from urllib.parse import urlsplit

from ..errors import BackendError, ContextRefusedError

CLUSTER_NAME = "releaselab"
KIND_CONTEXT = "kind-releaselab"          # kind names its context "kind-<cluster>"
NAMESPACE = "releaselab"
MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "releaselab"
CONTEXT_ENV = "RELEASELAB_KUBE_CONTEXT"

# Fields the API server owns; sending them back in an apply would either be
# rejected (managedFields) or turn the apply into an optimistic-lock update
# (resourceVersion), so a dict obtained from get() can be re-applied as is.
_SERVER_METADATA = ("resourceVersion", "uid", "creationTimestamp", "managedFields",
                    "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


def read_kubeconfig(spec: str) -> dict[str, Optional[str]]:
    """{context name: its cluster's server URL (None if not given)} from a kubeconfig.

    ``spec`` is a path or, like ``$KUBECONFIG``, several joined by
    ``os.pathsep``; as kubectl merges them, the first file naming a context or
    a cluster wins.  Anything that is not a kubeconfig is a BackendError of
    one line that names the file and what is wrong with it.
    """
    paths = [p for p in str(spec).split(os.pathsep) if p]
    contexts: dict[str, str] = {}
    servers: dict[str, Optional[str]] = {}
    found = 0
    for path in paths:
        file = Path(path).expanduser()
        if not file.exists():
            continue                     # kubectl skips missing files in a merged list
        found += 1
        doc = _load_kubeconfig(file)
        for entry in _entries(doc, "contexts", file):
            cluster = (entry.get("context") or {}).get("cluster") \
                if isinstance(entry.get("context"), dict) else None
            contexts.setdefault(str(entry["name"]), cluster)
        for entry in _entries(doc, "clusters", file):
            server = (entry.get("cluster") or {}).get("server") \
                if isinstance(entry.get("cluster"), dict) else None
            servers.setdefault(str(entry["name"]), server)
    if not found:
        raise BackendError(f"no kubeconfig at {spec}; run `releaselab cluster up` to create the "
                           f"kit's cluster and its context {KIND_CONTEXT!r}")
    return {name: servers.get(cluster) if cluster else None for name, cluster in contexts.items()}


def _load_kubeconfig(file: Path) -> dict:
    import yaml

    hint = "a kubeconfig is a YAML mapping with contexts: and clusters: lists"
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise BackendError(f"cannot read the kubeconfig {file}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BackendError(f"the kubeconfig {file} is not text (a binary file?); {hint}") from None
    if "\x00" in text:
        raise BackendError(f"the kubeconfig {file} is not text (a binary file?); {hint}")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise BackendError(f"the kubeconfig {file} is not valid YAML{where}; {hint}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise BackendError(f"the kubeconfig {file} holds a YAML {type(doc).__name__}, not a "
                           f"mapping; {hint}")
    return doc


def _entries(doc: dict, key: str, file: Path) -> list[dict]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("name")
                                              for i in items):
        raise BackendError(f"the kubeconfig {file}: {key}: must be a list of entries with a "
                           f"name, as `kubectl config view` shows")
    return items


def is_loopback(server: Optional[str]) -> bool:
    """Does an API server URL point at this machine (127.0.0.0/8, ::1, localhost)?"""
    try:
        host = urlsplit(server or "").hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def choose_context(context_names: Iterable[str], explicit: Optional[str] = None,
                   env: Optional[dict] = None, servers: Optional[dict] = None) -> str:
    """The kubeconfig context the backend may use, or ContextRefusedError.

    ``explicit`` (the caller's argument) wins, then ``$RELEASELAB_KUBE_CONTEXT``;
    without either only ``kind-releaselab`` is acceptable, and only when its
    server (``servers``: context → server URL) is on this machine.
    """
    env = os.environ if env is None else env
    names = list(context_names)
    named = explicit or env.get(CONTEXT_ENV) or None
    if named:
        if named not in names:
            raise ContextRefusedError(
                f"kubeconfig has no context {named!r} (it has: {', '.join(names) or 'none'}); "
                f"name one of those, or run `releaselab cluster up` to create {KIND_CONTEXT!r}")
        return named
    if KIND_CONTEXT in names:
        server = (servers or {}).get(KIND_CONTEXT, "") if servers is not None else None
        if servers is not None and not is_loopback(server):
            raise ContextRefusedError(
                f"refusing context {KIND_CONTEXT!r}: its server {server or '(none)'} is not on "
                f"this machine, where kind runs the kit's cluster (https://127.0.0.1:<port>); "
                f"if it really is the kit's cluster, name it: KubeBackend(context="
                f"{KIND_CONTEXT!r}) or {CONTEXT_ENV}={KIND_CONTEXT}")
        return KIND_CONTEXT
    others = ", ".join(repr(n) for n in names) or "none"
    raise ContextRefusedError(
        f"refusing kubeconfig context(s) {others}: the kit only uses {KIND_CONTEXT!r} unless told "
        f"otherwise; run `releaselab cluster up`, or name a context explicitly with "
        f"KubeBackend(context=...) or {CONTEXT_ENV}=<name>")


def is_managed(obj: dict) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE


def require_managed(obj: dict, action: str, namespace: str = NAMESPACE) -> None:
    """Refuse to ``action`` (patch, delete, apply over) an object the kit did not label."""
    meta = obj.get("metadata") or {}
    where = meta.get("namespace") or namespace
    if where != namespace:
        raise ContextRefusedError(
            f"refusing to {action} {obj.get('kind', 'object')} {meta.get('name')!r} in namespace "
            f"{where!r}: the kit only works in namespace {namespace!r}")
    if not is_managed(obj):
        raise ContextRefusedError(
            f"refusing to {action} {obj.get('kind', 'object')} {meta.get('name')!r}: it is not "
            f"labelled {MANAGED_BY_KEY}={MANAGED_BY_VALUE}, so the kit did not create it; apply it "
            f"through the kit or add the label yourself")


def prepare_for_apply(obj: dict, namespace: str = NAMESPACE) -> dict:
    """A copy of ``obj`` with the kit's namespace and label, stripped of server-owned fields."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    given = meta.get("namespace")
    if given and given != namespace:
        raise ContextRefusedError(
            f"refusing to apply {out.get('kind', 'object')} {meta.get('name')!r} to namespace "
            f"{given!r}: the kit only works in namespace {namespace!r}; remove metadata.namespace "
            f"or set it to {namespace!r}")
    meta["namespace"] = namespace
    labels = meta.get("labels") or {}
    labels[MANAGED_BY_KEY] = MANAGED_BY_VALUE
    meta["labels"] = labels
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    out.pop("status", None)
    return out
