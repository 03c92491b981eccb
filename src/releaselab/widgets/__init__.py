"""Live ipywidgets for the book and the labs (they need a running kernel).

Each widget reads Timelines or the pure analysis functions; none holds
simulation logic of its own.
"""

from __future__ import annotations

__all__ = ["explore_rolling", "availability_calculator"]


def explore_rolling(**defaults):
    """Sliders for a rolling update (replicas, maxSurge, maxUnavailable, ...) that re-simulate live."""
    from ._rolling import explore_rolling as _impl

    return _impl(**defaults)


def availability_calculator(**defaults):
    """Availability <-> downtime, and deploys x risk per deploy -> error budget used."""
    from ._availability import availability_calculator as _impl

    return _impl(**defaults)
