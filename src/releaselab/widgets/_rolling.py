"""explore_rolling(): sliders for a rolling update that re-simulate it live.

Each change builds the Deployment from ``rolling/web.yaml`` with the chosen
replicas, maxSurge, maxUnavailable, STARTUP_SECONDS and minReadySeconds
(:func:`releaselab.checks.rolling.rolling_manifest`), rolls it out from 3.0
to 3.1 under 50 requests per second on the simulator — always
``Lab("sim")``, whatever ``RELEASELAB_BACKEND`` says, so moving a slider never
touches the reader's cluster (:func:`~releaselab.checks.rolling.simulate_rollout`,
the same run the lab's checks measure) — and redraws the Timeline's plot with one line of numbers:
rollout seconds, waves, the fewest ready pods, the peak, failed requests.
The simulation of 10 replicas takes a few tens of milliseconds; drawing the
plot takes longer than simulating it.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Optional

import ipywidgets as widgets

from releaselab.checks.rolling import Rollout, rolling_manifest, simulate_rollout
from releaselab._plural import plural
from releaselab.errors import ReleaseLabError, UsageError

__all__ = ["RollingExplorer", "explore_rolling", "DEFAULTS"]

#: The keyword arguments explore_rolling() accepts, with their defaults (web.yaml's values).
DEFAULTS = {
    "replicas": 4,
    "max_surge": 1,
    "max_unavailable": 0,
    "startup_seconds": 2,     # the app's STARTUP_SECONDS: seconds before it listens
    "min_ready_seconds": 0,
    "seed": 0,
    "rps": 50,
}
#: (label, min, max) of each slider.
SLIDERS = {
    "replicas": ("replicas", 1, 10),
    "max_surge": ("maxSurge", 0, 10),
    "max_unavailable": ("maxUnavailable", 0, 10),
    "startup_seconds": ("seconds to ready", 0, 10),
    "min_ready_seconds": ("minReadySeconds", 0, 10),
}
_STYLE = {"description_width": "10em"}
_LAYOUT = widgets.Layout(width="28em")


class RollingExplorer(widgets.VBox):
    """Sliders, one line of numbers, and the rollout's plot.

    The sliders are attributes named like the options (``replicas``,
    ``max_surge``, ...), so code and tests can move them; ``numbers`` is the
    HTML line shown; ``rollout`` is the last simulated
    :class:`~releaselab.checks.rolling.Rollout` (None when the settings are
    rejected, with the API server's message shown instead).
    """

    def __init__(self, **defaults):
        unknown = sorted(set(defaults) - set(DEFAULTS))
        if unknown:
            raise UsageError(f"explore_rolling() got unknown option(s) {', '.join(unknown)}: "
                             f"use {', '.join(DEFAULTS)}")
        values = {**DEFAULTS, **defaults}
        for key, (label, low, high) in SLIDERS.items():
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise UsageError(f"explore_rolling({key}={value!r}): {label} must be a whole "
                                 f"number from {low} to {high}")
        self.seed, self.rps = values["seed"], values["rps"]
        self.rollout: Optional[Rollout] = None
        self.replicas, self.max_surge, self.max_unavailable, self.startup_seconds, \
            self.min_ready_seconds = (
                widgets.IntSlider(value=values[key], min=low, max=high, step=1,
                                  description=label, continuous_update=False,
                                  style=_STYLE, layout=_LAYOUT)
                for key, (label, low, high) in SLIDERS.items())
        self.numbers = widgets.HTML()
        self.output = widgets.Output()
        for slider in self.sliders:
            slider.observe(self._on_change, names="value")
        super().__init__(children=[*self.sliders, self.numbers, self.output])
        self.update()

    @property
    def sliders(self) -> list:
        return [self.replicas, self.max_surge, self.max_unavailable, self.startup_seconds,
                self.min_ready_seconds]

    def settings(self) -> dict:
        """The sliders' values as rolling_manifest() keyword arguments."""
        return {"replicas": self.replicas.value, "max_surge": self.max_surge.value,
                "max_unavailable": self.max_unavailable.value,
                "startup_seconds": self.startup_seconds.value,
                "min_ready_seconds": self.min_ready_seconds.value}

    def _on_change(self, change) -> None:
        self.update()

    def update(self) -> None:
        """Re-simulate with the current settings and redraw."""
        settings = self.settings()
        try:
            rollout = simulate_rollout(rolling_manifest(**settings), seed=self.seed,
                                       rps=self.rps)
        except ReleaseLabError as exc:   # shown, not swallowed: the reader sees what to change
            self.rollout = None
            self.numbers.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            self.output.clear_output()
            return
        self.rollout = rollout
        self.numbers.value = numbers_line(rollout)
        self._draw(rollout, settings)

    def _draw(self, rollout: Rollout, settings: dict) -> None:
        import matplotlib.pyplot as plt

        title = (f"{settings['replicas']} replicas, maxSurge {settings['max_surge']}, "
                 f"maxUnavailable {settings['max_unavailable']}, seconds to ready "
                 f"{settings['startup_seconds']}, minReadySeconds "
                 f"{settings['min_ready_seconds']}")
        fig = rollout.run.plot(deployment="web", title=title)
        # Set the Output widget's outputs directly instead of capturing with
        # `with self.output:`: the capture sends the widget a msg_id during the
        # cell, and nbclient (nbconvert, `make solutions`, releaselab grade's
        # predecessors) then sometimes never sees the cell finish (nbclient #312).
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(fig)
        self.output.outputs = ({
            "output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                     "text/plain": f"<the rollout's plot: {html.escape(title)}>"}},)


def numbers_line(rollout: Rollout) -> str:
    """The one line of numbers under the sliders (HTML)."""
    s = rollout.summary
    status = (f"rollout {rollout.seconds:g} s" if rollout.complete
              else f"rollout stopped: {html.escape(rollout.result.status)} after "
                   f"{rollout.seconds:g} s")
    failed = (f"<b style='color:#b00'>{s.failed} failed</b>" if s.failed else "0 failed")
    return (f"{status} · {plural(s.waves, 'wave')} · min ready {s.min_ready} of {rollout.replicas} pods · "
            f"peak {s.peak_pods} pods · {failed} of {s.sent} requests")


def explore_rolling(**defaults) -> RollingExplorer:
    """Build the explorer. Options (all optional): ``replicas`` (4), ``max_surge`` (1),
    ``max_unavailable`` (0), ``startup_seconds`` (2), ``min_ready_seconds`` (0), each a
    whole number from 0 (replicas: 1) to 10; ``seed`` (0) and ``rps`` (50).

    >>> explore_rolling(replicas=10, max_surge=3)   # doctest: +SKIP
    """
    return RollingExplorer(**defaults)
