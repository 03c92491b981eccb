"""releaselab — zero-downtime deployment, measured.

The public surface::

    from releaselab import Lab
    lab = Lab()                        # the embedded simulator; Lab(backend="kind") for a real cluster

Everything else is reached through submodules with a public purpose:
``releaselab.rollout`` (the controller's arithmetic), ``releaselab.analysis``
(availability and canary maths), ``releaselab.checks`` (exercise checkers),
``releaselab.widgets`` (live sliders), ``releaselab.strategies``
(blue-green and canary procedures), ``releaselab.errors``.
"""

from .errors import (BackendError, ContextRefusedError, LabSourceError, ManifestError,
                     NotFoundError, ReleaseLabError, ToolMissingError, UsageError, WaitTimeout)
from .lab import Lab, RolloutResult, TrafficRun
from .timeline import Timeline

__version__ = "0.1.0"

__all__ = [
    "Lab", "RolloutResult", "TrafficRun", "Timeline",
    "ReleaseLabError", "ManifestError", "NotFoundError", "UsageError", "WaitTimeout",
    "BackendError", "ToolMissingError", "ContextRefusedError", "LabSourceError",
]
