"""The real-cluster measurements the book quotes, with where they come from.

Every number the book takes from a real cluster (the 0.30–0.36 s endpoint
propagation, the failed-request counts of real rollouts) is read here from
``tests/data/reference_requests.json`` — the copy of the shared reference
measurements the tests use — so that the text, the tests and the simulator's
calibration quote one source, and each quote can say which cluster it was:

>>> where()
'one node, Kubernetes v1.28.7, kube-proxy in iptables mode'
>>> propagation()
'0.30–0.36 s'
"""

from __future__ import annotations

import json
from functools import lru_cache

from .labgen import repo_root


@lru_cache(maxsize=1)
def load() -> dict:
    """The reference measurements as stored (rows by ``id`` under ``"rows"``)."""
    return json.loads((repo_root() / "tests" / "data" / "reference_requests.json").read_text())


def where() -> str:
    """Which cluster measured them, in the words the book uses."""
    c = load()["cluster"]
    nodes = "one node" if c["nodes"] == 1 else f"{c['nodes']} nodes"
    return f"{nodes}, Kubernetes {c['kubernetes']}, kube-proxy in {c['kube_proxy_mode']} mode"


def propagation() -> str:
    """How long kube-proxy kept routing to old pods after a Service switch, as a range."""
    low, high = load()["endpoint_propagation_s"]
    return f"{low:.2f}–{high:.2f} s"


def row(row_id: str) -> dict:
    """One configuration's runs (``failed`` / ``sent`` each), causes and rollout times."""
    return {r["id"]: r for r in load()["rows"]}[row_id]


def failed_of(row_id: str) -> str:
    """'3 / 466 and 1 / 483': the failed / sent requests of each real run."""
    return " and ".join(f"{r['failed']} / {r['sent']}" for r in row(row_id)["runs"])
