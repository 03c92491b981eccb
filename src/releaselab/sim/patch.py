"""Strategic-merge patches, the subset kubectl's commands send.

Maps merge key by key; lists of containers, env vars and ports merge by
their ``name`` (the patchMergeKey of those fields upstream); every other
list is replaced whole; ``None`` deletes a key.
"""

from __future__ import annotations

import copy

_MERGE_BY_NAME = {"containers", "initContainers", "env", "ports", "volumeMounts", "volumes"}


def strategic_merge(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    _merge(out, patch)
    return out


def _merge(target: dict, patch: dict) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif key in _MERGE_BY_NAME and isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = _merge_named(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _merge_named(current: list, patch: list) -> list:
    result = [copy.deepcopy(item) for item in current]
    index = {item.get("name"): i for i, item in enumerate(result) if isinstance(item, dict)}
    for item in patch:
        name = item.get("name") if isinstance(item, dict) else None
        if name in index:
            if item.get("$patch") == "delete":
                result[index[name]] = None
            else:
                _merge(result[index[name]], item)
        else:
            result.append(copy.deepcopy(item))
    return [item for item in result if item is not None]
