"""The contract both clusters implement: the simulator and the kind cluster.

:class:`~releaselab.lab.Lab` is thin; a backend does the work.  Objects go in
and come out as plain dicts in Kubernetes shape (``{"apiVersion": "apps/v1",
"kind": "Deployment", "metadata": {...}, "spec": {...}, "status": {...}}``),
so the same reading code (``rollout_complete``, the checks, the strategies)
works on both.

Kinds a backend must know: Deployment, ReplicaSet, Pod, Service,
EndpointSlice, Event, and Gateway / HTTPRoute (gateway.networking.k8s.io/v1).
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol, runtime_checkable

from .timeline import Timeline


@runtime_checkable
class Backend(Protocol):
    """What a cluster must offer to run a lab."""

    #: "sim" or "kind"
    name: str
    #: everything recorded since the backend started
    timeline: Timeline

    def now(self) -> float:
        """Seconds since the backend started (virtual on the simulator)."""

    def apply(self, obj: dict) -> dict:
        """Create or update one object (like server-side apply); returns it as stored."""

    def dry_run(self, obj: dict) -> dict:
        """Check one object exactly as :meth:`apply` would, against the cluster's current
        state (an immutable field included), and store nothing.  Returns the object as it
        would be stored; raises the error apply would raise.  ``Lab.apply`` dry-runs every
        document of a list before applying any, so a list is applied all or nothing."""

    def delete(self, kind: str, name: str) -> None:
        """Delete one object; raises NotFoundError if it does not exist."""

    def get(self, kind: str, name: str) -> dict:
        """One object with its status; raises NotFoundError if it does not exist."""

    def list(self, kind: str, selector: Optional[dict] = None) -> list[dict]:
        """Objects of a kind, optionally filtered by a label selector ``{"app": "web"}``."""

    def patch(self, kind: str, name: str, patch: dict) -> dict:
        """A strategic-merge patch (containers are merged by name); returns the object."""

    def scale(self, name: str, replicas: int) -> None:
        """Set a Deployment's spec.replicas (the scale subresource)."""

    def rollout_undo(self, name: str, to_revision: Optional[int] = None) -> int:
        """Restore a Deployment's template from a revision, as ``kubectl rollout undo`` does.

        Returns the revision whose template was restored."""

    def start_traffic(self, target: str, rps: float, *, poisson: bool = False,
                      timeout_s: float = 1.0, users: int = 0, workload: str = "shop") -> object:
        """Start open-loop clients against ``"<service>"`` or ``"gateway/<name>"``.

        Returns a handle for :meth:`stop_traffic`.  Every request is recorded in
        ``timeline.requests``.  ``users > 0``: the requests are those users'
        (:mod:`releaselab.workload`); their orders and logouts go to the
        Timeline too, and stopping reads every order back once (the audit)."""

    def stop_traffic(self, handle: object) -> None:
        """Stop the clients started under ``handle``."""

    def wait(self, until: Optional[Callable[[], bool]] = None, timeout: float = 60.0) -> bool:
        """Let the cluster run until ``until()`` is true or ``timeout`` seconds pass.

        Returns True if the condition came true, False on timeout.  With
        ``until=None`` it simply lets ``timeout`` seconds pass and returns True.
        The simulator advances virtual time; kind sleeps and watches."""

    def close(self) -> None:
        """Stop traffic and watches; leave the cluster's objects as they are."""
