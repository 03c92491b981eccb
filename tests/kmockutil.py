"""kmock's Kubernetes API emulator on loopback, shared by the kube backend's tests.

kmock's stateful ``KubernetesEmulator`` is an in-memory object store behind
the Kubernetes REST URL layout, served over HTTP on 127.0.0.1: the backend
talks to it exactly as to a cluster (kubeconfig -> ApiClient -> urllib3 ->
HTTP).  What it does not do (controllers, server-side apply, selectors,
validation) is listed in test_kube_backend.py's docstring.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from pathlib import Path

import kmock
import yaml


class Emulator:
    """kmock's KubernetesEmulator on a free loopback port, in its own thread and loop."""

    def __init__(self, version: str = "v1.36.1") -> None:
        # kmock answers GET /version with an old k3s by default; a kind v0.32 cluster
        # runs v1.36.1.  Tests of older servers pass their own.
        self.version = version
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the emulator did not start"

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as k8s, kmock.Server(k8s) as server:
            self.k8s, self.url = k8s, str(server.url).rstrip("/")
            major, minor = self.version.lstrip("v").split(".")[:2]
            for path in ("/version", "/version/"):       # the client asks for /version/
                k8s[f"get {path}"] << {"major": major, "minor": minor,
                                       "gitVersion": self.version}
            # Declare the kinds the backend lists, so an empty list is [] and not a 404.
            for res in ("apps/v1/deployments", "apps/v1/replicasets", "v1/pods", "v1/services",
                        "v1/events", "discovery.k8s.io/v1/endpointslices",
                        "gateway.networking.k8s.io/v1/gateways",
                        "gateway.networking.k8s.io/v1/httproutes"):
                k8s.resources[res] = {}
            self._ready.set()
            await self._stop.wait()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def requests(self) -> list:
        return list(self.k8s._requests)

    def obj(self, key) -> dict:
        return copy.deepcopy(self.k8s.objects[key].raw)

    def holds(self, key) -> bool:
        try:
            return not self.k8s.objects[key].deleted
        except KeyError:
            return False


def write_kubeconfig(path: Path, server: str, contexts=("kind-releaselab",),
                     current="kind-releaselab") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": current,
    }))
    return path
