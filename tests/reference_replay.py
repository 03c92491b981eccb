"""Replay the real-cluster reference rollouts (tests/data/reference/) on the simulator.

Each scenario is rebuilt from its recorded parameters: the reference pod was
a busybox httpd serving ``start_s`` seconds after start (default 1), exiting
at once on SIGTERM, readiness httpGet with periodSeconds 1 and
failureThreshold 1, terminationGracePeriodSeconds 5, image on the node.  The
rollout is triggered by changing an env var, as `kubectl set env` did.
"""

from __future__ import annotations

import json
from pathlib import Path

from releaselab import Lab

DATA = Path(__file__).parent / "data" / "reference" / "rollouts.json"

#: The reference times count from when `kubectl set env` / `kubectl rollout
#: undo` was *started*; the command's own start-up and API round trip come
#: first.  Its first ReplicaSet step lands 0.13–0.22 s after the trigger, while
#: later steps are 0.02–0.2 s apart: about 0.15 s is kubectl, not the cluster.
KUBECTL_LATENCY_S = 0.15


def scenarios() -> list[dict]:
    return json.loads(DATA.read_text())["scenarios"]


def manifest(params: dict) -> dict:
    spec = {
        "replicas": params["replicas"],
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": params["strategy"],
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{
                    "name": "web", "image": "releaselab/web:1.0",
                    "env": [{"name": "STARTUP_SECONDS", "value": str(params.get("start_s", 1))},
                            {"name": "SHUTDOWN", "value": "immediate"},
                            {"name": "LATENCY_MS", "value": "1"}],
                    "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080},
                                       "periodSeconds": 1, "failureThreshold": 1},
                }],
            },
        },
    }
    for key in ("minReadySeconds", "progressDeadlineSeconds"):
        if key in params:
            spec[key] = params[key]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": spec}


def replay(scenario: dict, seed: int = 0) -> dict:
    """Run one scenario; returns its rs_steps (relative to the trigger) and outcome."""
    params = scenario["params"]
    # The reference cluster had one node.
    lab = Lab(seed=seed, echo=False, workers=1)
    lab.apply(manifest(params))
    lab.wait_available("web")
    trigger = lab.now()
    lab.wait(KUBECTL_LATENCY_S)
    outcome: dict = {}
    if params.get("never_ready_version"):
        lab.set_env("web", NEVER_READY="1")
    else:
        lab.set_env("web", ROLLOUT="2")
    if "scale_mid_to" in params:
        lab.wait(params["scale_after_s"])
        lab.scale("web", params["scale_mid_to"])
    result = lab.wait_rollout("web")
    key = "progress_deadline_exceeded_after_s" if result.status != "complete" else "rollout_s"
    outcome[key] = round(lab.now() - trigger, 2)
    if params.get("undo"):
        lab.wait(1.2)
        undo_start = lab.now()
        lab.wait(KUBECTL_LATENCY_S)
        lab.rollout_undo("web")
        lab.wait_rollout("web")
        outcome["undo_s"] = round(lab.now() - undo_start, 2)
    names: dict = {}
    steps = []
    for s in lab.timeline.rs_steps:
        label = names.setdefault(s.replicaset, "ABCDEFGH"[len(names)])
        steps.append({"t": round(s.t - trigger, 2), "rs": label, "from": s.from_, "to": s.to})
    status = lab.get("Deployment", "web")["status"]
    return {"rs_steps": steps, "outcome": outcome, "status": status, "lab": lab}
