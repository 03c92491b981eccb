"""The embedded cluster: a deterministic, virtual-time model of Kubernetes.

Only this package knows virtual time.  Its public face is :class:`SimBackend`
(the :class:`releaselab.backend.Backend` contract) and the
:class:`TimingProfile` that sets every delay it models.
"""

from .backend import SimBackend
from .profile import KIND_LIKE, TimingProfile

__all__ = ["SimBackend", "TimingProfile", "KIND_LIKE"]
