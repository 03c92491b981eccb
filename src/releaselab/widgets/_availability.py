"""The availability calculator: availability <-> downtime, deploys x risk -> budget used.

All arithmetic is in :mod:`releaselab.analysis`; this module only wires
controls to it and formats the answers as small HTML tables.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from releaselab import analysis
from releaselab.errors import ReleaseLabError, UsageError

__all__ = ["AvailabilityCalculator", "availability_calculator"]

#: The keyword arguments availability_calculator() accepts, with their defaults.
DEFAULTS = {
    "availability": 0.999,  # a fraction, also the SLO whose weekly budget deploys spend
    "deploys_per_week": 10,
    "risk_seconds": 30.0,  # seconds of full-outage-equivalent risk per deploy
    "affected_percent": 100.0,  # share of traffic that sees a deploy's errors
}

_PERIODS = ("year", "month", "week", "day")
_MINUTES_PER_YEAR = analysis.period_seconds("year") / analysis.SECONDS_PER_MINUTE
_STYLE = {"description_width": "16em"}
_LAYOUT = widgets.Layout(width="30em")
_TD = "<td style='padding:0 1.2em 0 0'>"
_NUM = "<td style='text-align:right'>"


class AvailabilityCalculator(widgets.VBox):
    """Two linked panels; the named controls are attributes so code (and tests) can drive them.

    - ``availability_percent`` and ``downtime_per_year_minutes`` edit the same
      quantity from both ends; ``downtime`` shows what it allows per period.
    - ``deploys_per_week``, ``risk_seconds`` and ``affected_percent`` say how
      much each week's deploys risk; ``budget`` shows the share of the weekly
      error budget (at the availability above, taken as the SLO) they use.
    """

    def __init__(self, **defaults):
        unknown = sorted(set(defaults) - set(DEFAULTS))
        if unknown:
            raise UsageError(
                f"availability_calculator() got unknown option(s) {', '.join(unknown)}: "
                f"use {', '.join(DEFAULTS)}"
            )
        values = {**DEFAULTS, **defaults}
        availability = analysis.from_percent(
            100.0 * _checked_fraction(values["availability"])
        )
        # the analysis functions validate (and explain) every input
        analysis.deploy_downtime(values["deploys_per_week"], values["risk_seconds"])
        analysis.from_percent(values["affected_percent"])
        if int(values["deploys_per_week"]) != values["deploys_per_week"]:
            raise UsageError(
                f"deploys_per_week must be a whole number, got {values['deploys_per_week']!r}"
            )

        self._syncing = False
        self.availability_percent = widgets.BoundedFloatText(
            value=round(availability * 100.0, 6),
            min=0.0,
            max=100.0,
            step=0.01,
            description="availability (%)",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.downtime_per_year_minutes = widgets.BoundedFloatText(
            value=round(analysis.downtime_allowed(availability, "year") / 60.0, 3),
            min=0.0,
            max=_MINUTES_PER_YEAR,
            step=1.0,
            description="downtime per year (min)",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.downtime = widgets.HTML()
        self.deploys_per_week = widgets.BoundedIntText(
            value=int(values["deploys_per_week"]),
            min=0,
            max=100_000,
            description="deploys per week",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.risk_seconds = widgets.BoundedFloatText(
            value=float(values["risk_seconds"]),
            min=0.0,
            max=analysis.SECONDS_PER_DAY,
            step=1.0,
            description="risk per deploy (s)",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.affected_percent = widgets.BoundedFloatText(
            value=float(values["affected_percent"]),
            min=0.0,
            max=100.0,
            step=1.0,
            description="traffic affected (%)",
            style=_STYLE,
            layout=_LAYOUT,
        )
        self.budget = widgets.HTML()

        self.availability_percent.observe(self._on_availability, names="value")
        self.downtime_per_year_minutes.observe(self._on_downtime, names="value")
        for control in (self.deploys_per_week, self.risk_seconds, self.affected_percent):
            control.observe(self._on_budget_input, names="value")

        super().__init__(
            children=[
                widgets.HTML("<b>Availability ↔ downtime</b>"),
                self.availability_percent,
                self.downtime_per_year_minutes,
                self.downtime,
                widgets.HTML("<b>Deploys × risk → weekly error budget used</b>"),
                self.deploys_per_week,
                self.risk_seconds,
                self.affected_percent,
                self.budget,
            ]
        )
        self._render()

    # --- the current inputs --------------------------------------------------

    @property
    def availability(self) -> float:
        """The availability (and SLO) as a fraction."""
        return analysis.from_percent(self.availability_percent.value)

    # --- observers -----------------------------------------------------------

    def _on_availability(self, change):
        if self._syncing:
            return
        self._syncing = True
        try:
            minutes = analysis.downtime_allowed(self.availability, "year") / 60.0
            self.downtime_per_year_minutes.value = round(minutes, 3)
        finally:
            self._syncing = False
        self._render()

    def _on_downtime(self, change):
        if self._syncing:
            return
        self._syncing = True
        try:
            availability = analysis.availability_from_downtime(
                self.downtime_per_year_minutes.value * 60.0, "year"
            )
            self.availability_percent.value = round(availability * 100.0, 6)
        finally:
            self._syncing = False
        self._render()

    def _on_budget_input(self, change):
        self._render()

    # --- output ------------------------------------------------------------------

    def _render(self):
        self.downtime.value = self._downtime_html()
        self.budget.value = self._budget_html()

    def _downtime_html(self) -> str:
        a = self.availability
        n = analysis.nines(a)
        nines_text = "∞" if n == float("inf") else f"{n:.2f}"
        rows = "".join(
            f"<tr>{_TD}per {p}</td>{_NUM}"
            f"{analysis.human_duration(analysis.downtime_allowed(a, p))}</td></tr>"
            for p in _PERIODS
        )
        return (
            f"<table><tr><th style='padding:0 1.2em 0 0'>{a * 100:.6g} % = {nines_text} nines</th>"
            f"<th>downtime allowed</th></tr>{rows}</table>"
        )

    def _budget_html(self) -> str:
        try:
            slo = self.availability
            affected = self.affected_percent.value / 100.0
            deploys = self.deploys_per_week.value
            risk = self.risk_seconds.value
            budget = analysis.error_budget(slo, "week")
            spent = analysis.deploy_downtime(deploys, risk, affected)
            used = analysis.budget_used_by_deploys(deploys, risk, slo, "week", affected)
            if risk > 0 and affected > 0:
                allowed = str(analysis.deploys_allowed(slo, risk, "week", 1.0, affected))
            else:
                allowed = "unlimited (the deploys cost no budget)"
        except ReleaseLabError as exc:  # shown, not swallowed: the reader sees what to change
            return f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
        verdict = (
            "<span style='color:#b00'>over budget: the deploys alone break the SLO</span>"
            if used > 1.0
            else "within budget"
        )
        return (
            "<table>"
            f"<tr>{_TD}weekly error budget at {slo * 100:.6g} %</td>"
            f"{_NUM}{analysis.human_duration(budget)}</td></tr>"
            f"<tr>{_TD}spent by {deploys} deploys × {risk:g} s × {affected * 100:g} % traffic</td>"
            f"{_NUM}{analysis.human_duration(spent)}</td></tr>"
            f"<tr>{_TD}budget used</td>{_NUM}{used * 100:.1f} %</td></tr>"
            f"<tr>{_TD}deploys per week the budget allows</td>"
            f"{_NUM}{allowed}</td></tr>"
            f"<tr><td colspan='2'>{verdict}</td></tr>"
            "</table>"
        )


def _checked_fraction(value) -> float:
    # downtime_allowed validates (and explains a percentage passed by mistake)
    analysis.downtime_allowed(value, "year")
    return float(value)


def availability_calculator(**defaults) -> AvailabilityCalculator:
    """Build the calculator. Options (all optional): ``availability`` (fraction,
    default 0.999), ``deploys_per_week`` (10), ``risk_seconds`` (30),
    ``affected_percent`` (100).

    >>> calc = availability_calculator(availability=0.9999)   # doctest: +SKIP
    >>> calc                                                  # doctest: +SKIP
    """
    return AvailabilityCalculator(**defaults)
