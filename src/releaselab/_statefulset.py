"""A StatefulSet checked and defaulted as the API server does, for lab 05's data manifests.

Only what ``cluster/manifests/data/`` needs and what the simulator reads
(``sim/data.py``): a selector that matches the pod template's labels, one
container with an image, replicas, volumeClaimTemplates with a name and a
storage request.  The rules and defaults follow the API server's
``ValidateStatefulSetSpec`` (pkg/apis/apps/validation) and
``SetDefaults_StatefulSet`` (pkg/apis/apps/v1/defaults.go): replicas 1,
podManagementPolicy OrderedReady, updateStrategy RollingUpdate with
partition 0, revisionHistoryLimit 10, and persistentVolumeClaimRetentionPolicy
Retain both when the StatefulSet is deleted and when it is scaled down —
which is why its data outlives it.
"""

from __future__ import annotations

from typing import Callable

# What the simulator's model of a data server does not run; Lab.apply names
# it once ("note: the simulator does not model ...").
NOT_MODELLED = ("StatefulSet pods, probes and resources (a StatefulSet of postgres or redis "
                "runs as one modelled server)")


def validate_statefulset(obj: dict, invalid: Callable[[str, str], Exception]) -> list[str]:
    """Check and default ``obj`` in place; raise ``invalid(path, detail)``; return notes."""
    spec = obj.setdefault("spec", {})
    replicas = spec.setdefault("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise invalid("spec.replicas", f"Invalid value: {replicas!r}: must be an integer")
    if replicas < 0:
        raise invalid("spec.replicas", f"Invalid value: {replicas}: must be greater than or "
                      "equal to 0")
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                       "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector:
        raise invalid("spec.selector", "Required value")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        raise invalid("spec.template.metadata.labels", f"Invalid value: {labels}: `selector` "
                      "does not match template `labels`")
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        raise invalid("spec.template.spec.containers", "Required value")
    for i, container in enumerate(containers):
        if not container.get("name"):
            raise invalid(f"spec.template.spec.containers[{i}].name", "Required value")
        if not container.get("image"):
            raise invalid(f"spec.template.spec.containers[{i}].image", "Required value")
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        where = f"spec.volumeClaimTemplates[{i}]"
        if not (claim.get("metadata") or {}).get("name"):
            raise invalid(f"{where}.metadata.name", "Required value")
        storage = (((claim.get("spec") or {}).get("resources") or {}).get("requests")
                   or {}).get("storage")
        if not storage:
            raise invalid(f"{where}.spec.resources[storage]", "Required value")
        if not (claim.get("spec") or {}).get("accessModes"):
            raise invalid(f"{where}.spec.accessModes", "Required value: at least 1 access "
                          "mode is required")
    return [NOT_MODELLED]
