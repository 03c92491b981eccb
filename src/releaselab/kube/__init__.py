"""The real cluster: a kind cluster driven through the official kubernetes client.

Public surface (everything else in this package is private):

- :func:`make_backend` — what :class:`releaselab.Lab` calls when
  ``RELEASELAB_BACKEND=kind``; returns a :class:`KubeBackend`.
- :class:`KubeBackend` — the :class:`releaselab.backend.Backend` protocol on
  the cluster: server-side apply, patches, scale, ``rollout undo``, watches
  that fill the Timeline, and the prober's real traffic.
- :class:`Prober` — open-loop HTTP traffic at a fixed rate.
- :func:`cluster_up`, :func:`cluster_down`, :func:`cluster_status` — the
  ``releaselab cluster ...`` commands.
- The guard's constants: :data:`KIND_CONTEXT`, :data:`NAMESPACE`,
  :data:`MANAGED_BY_KEY`, :data:`MANAGED_BY_VALUE`.

Only this package imports ``kubernetes`` and ``docker``, and only when a
function that needs them runs: ``import releaselab`` works without either.
"""

from __future__ import annotations

from ._guard import (CLUSTER_NAME, CONTEXT_ENV, KIND_CONTEXT, MANAGED_BY_KEY, MANAGED_BY_VALUE,
                     NAMESPACE)

__all__ = [
    "CLUSTER_NAME", "CONTEXT_ENV", "KIND_CONTEXT", "MANAGED_BY_KEY", "MANAGED_BY_VALUE",
    "NAMESPACE", "KubeBackend", "Prober", "cluster_down", "cluster_status", "cluster_up",
    "make_backend",
]


def make_backend(**kwargs):
    """A :class:`KubeBackend` (keyword arguments as its constructor takes them)."""
    from ._backend import KubeBackend

    return KubeBackend(**kwargs)


def __getattr__(name):
    # Lazy: the backend module is light, but keeping it out of `import releaselab.kube`
    # means nothing here can ever drag kubernetes in by accident.
    if name == "KubeBackend":
        from ._backend import KubeBackend
        return KubeBackend
    if name == "Prober":
        from ._prober import Prober
        return Prober
    if name in ("cluster_up", "cluster_down", "cluster_status"):
        from . import _cluster
        return getattr(_cluster, name)
    raise AttributeError(f"module 'releaselab.kube' has no attribute {name!r}")
