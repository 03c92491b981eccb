"""A StatefulSet defaulted and validated as the API server does, for lab 05's data servers.

Decoding (field types, unknown fields) is ``_schema.decode`` against the real
OpenAPI schema, as for every typed kind.  Then, in the server's order:

- ``SetDefaults_StatefulSet`` (pkg/apis/apps/v1/defaults.go): replicas 1,
  podManagementPolicy OrderedReady, updateStrategy RollingUpdate with
  partition 0, revisionHistoryLimit 10, persistentVolumeClaimRetentionPolicy
  Retain both when the StatefulSet is deleted and when it is scaled down —
  which is why its data outlives it — and the pod template's defaults;
- ``ValidateStatefulSetSpec`` (pkg/apis/apps/validation): a selector that
  selects the template, the pod template's rules, non-negative counts, the
  supported policies, and volumeClaimTemplates with a name, an access mode
  and a storage request (``ValidatePersistentVolumeClaimSpec``).

The simulator runs a StatefulSet as one modelled data server (``sim/data.py``):
its pods, probes and resources are not run, which :data:`NOT_MODELLED` says once.
"""

from __future__ import annotations

from ._fielderrors import Errors, is_dns1123_subdomain

# Lab.apply names it once ("note: the simulator does not model ...").
NOT_MODELLED = ("StatefulSet pods, probes and resources (a StatefulSet of postgres or redis "
                "runs as one modelled server)")
_POLICIES = ["OrderedReady", "Parallel"]
_UPDATES = ["OnDelete", "RollingUpdate"]
_RETAIN = ["Delete", "Retain"]


def default_statefulset(obj: dict, default_pod_template) -> None:
    """SetDefaults_StatefulSet, then the pod template's defaults (``default_pod_template``)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    update = spec.setdefault("updateStrategy", {})
    update.setdefault("type", "RollingUpdate")
    if update["type"] == "RollingUpdate":
        update.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    default_pod_template(spec.setdefault("template", {}))


def validate_statefulset_spec(spec: dict, errs: Errors, validate_selected_template) -> None:
    """ValidateStatefulSetSpec, in its order (the selector and template rules are the
    Deployment's: ``_validation.validate_selected_template``)."""
    policy = spec.get("podManagementPolicy")
    if policy not in _POLICIES:
        errs.not_supported("spec.podManagementPolicy", policy, _POLICIES)
    update = spec.get("updateStrategy") or {}
    if update.get("type") not in _UPDATES:
        errs.not_supported("spec.updateStrategy", update.get("type"), _UPDATES)
    elif update["type"] == "OnDelete" and update.get("rollingUpdate") is not None:
        errs.invalid("spec.updateStrategy.rollingUpdate", update["rollingUpdate"],
                     "only allowed for updateStrategy 'RollingUpdate'")
    partition = ((update.get("rollingUpdate") or {}).get("partition")) or 0
    if partition < 0:
        errs.invalid("spec.updateStrategy.rollingUpdate.partition", partition,
                     "must be greater than or equal to 0")
    retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    for key in ("whenDeleted", "whenScaled"):
        if retention.get(key) not in _RETAIN:
            errs.not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}",
                               retention.get(key), _RETAIN)
    for key in ("replicas", "minReadySeconds"):
        if spec.get(key, 0) < 0:
            errs.invalid(f"spec.{key}", spec[key], "must be greater than or equal to 0")
    validate_selected_template(spec, errs, "statefulset")
    for i, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        where = f"spec.volumeClaimTemplates[{i}]"
        name = (claim.get("metadata") or {}).get("name", "")
        if not name:
            errs.required(f"{where}.metadata.name", "name or generateName is required")
        for msg in is_dns1123_subdomain(name) if name else []:
            errs.invalid(f"{where}.metadata.name", name, msg)
        claim_spec = claim.get("spec") or {}
        if not claim_spec.get("accessModes"):
            errs.required(f"{where}.spec.accessModes", "at least 1 access mode is required")
        storage = ((claim_spec.get("resources") or {}).get("requests") or {}).get("storage")
        if not storage:
            errs.required(f"{where}.spec.resources[storage]")
