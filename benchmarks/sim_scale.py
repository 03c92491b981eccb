"""How fast the simulator is: wall time and peak memory of whole rollouts.

Prints one line per case:
    replicas=N rps=R wall_s=... peak_mb=... requests=... sim_requests_per_wall_s=...

Targets (issue 2): 1,000 replicas, maxSurge 25 %, maxUnavailable 0,
STARTUP_SECONDS 5, readiness periodSeconds 1, 5,000 req/s for the whole
rollout, every request recorded: <= 2 s wall, <= 500 MB peak.  10 replicas
at 50 req/s: <= 50 ms (live widgets need it).  Issue 11: rollouts cost
O(pods + events), so 100,000 replicas roll out under the same traffic and
x100 replicas (1,000 -> 100,000) cost at most x150 wall time.  These are
printed, not asserted: timing belongs to this script, not to the test suite.

``python benchmarks/sim_scale.py --quick`` stops at 20,000 replicas (the
100,000 case takes minutes and a few GB).
"""

from __future__ import annotations

import gc
import time
import tracemalloc

from releaselab import Lab
from releaselab.manifests import load


def manifest(replicas: int) -> dict:
    (deployment, _service) = load("rolling/web.yaml")
    spec = deployment["spec"]
    spec["replicas"] = replicas
    spec["strategy"]["rollingUpdate"] = {"maxSurge": "25%", "maxUnavailable": 0}
    spec["progressDeadlineSeconds"] = 3600
    container = spec["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "STARTUP_SECONDS", "value": "5"}]
    container["readinessProbe"]["periodSeconds"] = 1
    return deployment


def run(replicas: int, rps: float, measure_memory: bool) -> dict:
    gc.collect()
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    # A cluster big enough for every pod: the benchmark measures the
    # simulator, not scheduling failures.
    lab = Lab(echo=False, workers=max(2, replicas // 80 + 2), node_cpu="64", node_memory="256Gi")
    lab.apply([manifest(replicas), load("rolling/web.yaml")[1]])
    lab.wait_available("web", timeout=3600)
    with lab.traffic(rps=rps) as traffic:
        lab.set_image("web", "releaselab/web:3.1")
        lab.wait_rollout("web", timeout=3600)
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if measure_memory else float("nan")
    if measure_memory:
        tracemalloc.stop()
    return {"replicas": replicas, "rps": rps, "wall_s": wall, "peak_mb": peak,
            "requests": traffic.sent}


def line(result: dict, label: str = "") -> str:
    rate = result["requests"] / result["wall_s"] if result["wall_s"] else 0
    return (f"replicas={result['replicas']} rps={result['rps']:g} wall_s={result['wall_s']:.3f} "
            f"peak_mb={result['peak_mb']:.1f} requests={result['requests']} "
            f"sim_requests_per_wall_s={rate:,.0f}{label}")


def main() -> None:
    import sys

    quick = "--quick" in sys.argv[1:]
    # Wall time is measured without tracemalloc (it slows allocation down);
    # memory in a separate run of the same case.
    small = min((run(10, 50, False) for _ in range(5)), key=lambda r: r["wall_s"])
    print(line(small, "  (best of 5; target <= 0.050 s)"), flush=True)
    big = run(1000, 5000, False)
    big["peak_mb"] = run(1000, 5000, True)["peak_mb"]
    print(line(big, "  (target wall <= 2 s, peak <= 500 MB)"), flush=True)
    print("growth at 5,000 req/s:", flush=True)
    walls = {}
    for replicas in (10, 100, 1000, 5000, 20000) + (() if quick else (100000,)):
        result = big if replicas == 1000 else run(replicas, 5000, False)
        walls[replicas] = result["wall_s"]
        print("  " + line(result), flush=True)
    base = walls[1000]
    for replicas in sorted(r for r in walls if r > 1000):
        print(f"  x{replicas // 1000} replicas (1,000 -> {replicas:,}): "
              f"x{walls[replicas] / base:.1f} wall"
              + ("  (target <= x150)" if replicas == 100000 else ""))


if __name__ == "__main__":
    main()
