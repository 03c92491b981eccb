"""Which Kubernetes the kit's manifests need, and what to say on an older API server.

The fact the minimum rests on (KEP-3960, "Pod lifecycle sleep action"; the
Kubernetes v1.33 blog post "Updates to Container Lifecycle"): the ``sleep``
action of a ``preStop`` hook — ``lifecycle.preStop.sleep.seconds``, which
the labs' manifests use to outlast the endpoint race — is alpha in 1.29
(feature gate ``PodLifecycleSleepAction``, off by default), beta and on by
default from **1.30**, GA in 1.34.  A zero-second sleep needs
``PodLifecycleSleepActionAllowZero`` (KEP-4818: beta, on by default, in
1.33; GA 1.34).  Nothing else the manifests use is newer than that
(Gateway API v1 is installed by cloud-provider-kind as CRDs, independent of
the Kubernetes version).

On an older server the field does not exist in its schema, and a
server-side apply is refused with ``failed to create typed patch object
(...): .spec.template.spec.containers[name="web"].lifecycle.preStop.sleep:
field not declared in schema`` — as HTTP 500, because
``structuredmerge.go``'s ``Apply`` returns that conversion error as a plain
error (kubernetes/kubernetes#122480, #139253).  :func:`unknown_field_error`
turns it into one line naming the field, the server's version and the fix.
"""

from __future__ import annotations

import re
from typing import Optional

#: The oldest Kubernetes whose defaults accept every manifest of the kit.
MIN_VERSION = (1, 30)
#: The kind release the kit is written against, and its default node image.
KIND_DEFAULT_NODE = "v1.36.1"
SLEEP_ACTION_SINCE = (1, 30)

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")
_NOT_IN_SCHEMA = re.compile(r"failed to create typed patch object \(([^)]*)\): "
                            r"(.+?): field not declared in schema")


def parse_version(text: Optional[str]) -> Optional[tuple[int, int, int]]:
    """``"v1.28.7"`` (a server's gitVersion, e.g. ``v1.30.0+k3s1``) as (1, 28, 7); None if not one."""
    match = _VERSION.match((text or "").strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def shown(version: Optional[tuple]) -> str:
    return "an unknown version" if version is None else "v" + ".".join(map(str, version))


def older_than_needed(version: Optional[tuple]) -> bool:
    return version is not None and version[:2] < MIN_VERSION


def advice(version: Optional[tuple]) -> str:
    """One line for a reader whose cluster is older than the manifests need ("" if it is not)."""
    if not older_than_needed(version):
        return ""
    return (f"the cluster runs Kubernetes {shown(version)}, older than the "
            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} the labs' manifests need (their preStop hooks "
            f"use the sleep action, on by default from 1.30): recreate it with "
            f"`releaselab cluster down && releaselab cluster up` (kind's default node is "
            f"{KIND_DEFAULT_NODE}), or replace each `sleep: {{seconds: N}}` by "
            f"`exec: {{command: [\"sleep\", \"N\"]}}`")


def unknown_field_error(message: str, version: Optional[tuple]) -> Optional[str]:
    """The one-line ManifestError text for a "field not declared in schema" answer, else None."""
    match = _NOT_IN_SCHEMA.search(message or "")
    if not match:
        return None
    where, field = match.group(1), match.group(2).lstrip(".")
    text = (f"the API server (Kubernetes {shown(version)}) does not know the field {field} "
            f"({where}): it is not in that version's schema")
    if "lifecycle" in field and field.endswith(".sleep"):
        text += ("; the sleep action is on by default from Kubernetes 1.30 — recreate the "
                 "cluster (`releaselab cluster down && releaselab cluster up`) or use "
                 "`exec: {command: [\"sleep\", \"N\"]}`")
    else:
        text += "; remove the field or use a newer cluster"
    return text
