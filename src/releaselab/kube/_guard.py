"""The safety rails of the real-cluster path.

A lab must never be one typo away from a production cluster, so the kube
backend

- talks only to the kit's own kubeconfig context ``kind-releaselab`` unless the
  caller names another one explicitly (``KubeBackend(context=...)`` or
  ``$RELEASELAB_KUBE_CONTEXT``).  It never follows the kubeconfig's
  *current* context to a foreign cluster: that is the context a reader left
  selected yesterday for work;
- works only in namespace ``releaselab``, and changes or deletes only objects
  carrying the label ``app.kubernetes.io/managed-by: releaselab`` (apply adds
  the label and the namespace when a manifest lacks them).

Everything here is pure (dicts and strings in, decisions out), so it is
tested without a cluster and runs before any HTTP request is made.
"""

from __future__ import annotations

import copy
import os
from typing import Iterable, Optional

from ..errors import ContextRefusedError

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


def choose_context(context_names: Iterable[str], explicit: Optional[str] = None,
                   env: Optional[dict] = None) -> str:
    """The kubeconfig context the backend may use, or ContextRefusedError.

    ``explicit`` (the caller's argument) wins, then ``$RELEASELAB_KUBE_CONTEXT``;
    without either only ``kind-releaselab`` is acceptable.
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
