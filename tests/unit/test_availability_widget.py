"""The availability calculator's wiring: change a control, the displayed numbers follow."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import ipywidgets  # noqa: E402

from releaselab.errors import UsageError  # noqa: E402
from releaselab.widgets import availability_calculator  # noqa: E402


def test_it_is_a_widget_with_the_documented_defaults():
    calc = availability_calculator()
    assert isinstance(calc, ipywidgets.Widget)
    assert calc.availability_percent.value == pytest.approx(99.9)
    assert calc.downtime_per_year_minutes.value == pytest.approx(525.6)  # 8.76 h
    assert calc.deploys_per_week.value == 10
    assert calc.risk_seconds.value == 30
    # every control is actually shown
    for control in (
        calc.availability_percent,
        calc.downtime_per_year_minutes,
        calc.downtime,
        calc.deploys_per_week,
        calc.risk_seconds,
        calc.affected_percent,
        calc.budget,
    ):
        assert control in calc.children


def test_initial_display_shows_the_three_nines_figures():
    calc = availability_calculator()
    shown = calc.downtime.value
    assert "3.00 nines" in shown
    assert "8.76 h" in shown  # per year
    assert "43.8 min" in shown  # per month (730 h)
    assert "10.1 min" in shown  # per week
    budget = calc.budget.value
    assert "10.1 min" in budget  # weekly budget 604.8 s
    assert "5.00 min" in budget  # 10 x 30 s
    assert "49.6 %" in budget
    assert ">20<" in budget  # deploys allowed


def test_changing_availability_updates_downtime_and_budget():
    calc = availability_calculator()
    calc.availability_percent.value = 99.99
    assert calc.downtime_per_year_minutes.value == pytest.approx(52.56)
    shown = calc.downtime.value
    assert "4.00 nines" in shown
    assert "52.6 min" in shown
    assert "4.38 min" in shown
    assert "8.76 h" not in shown
    budget = calc.budget.value
    assert "496.0 %" in budget
    assert "over budget" in budget
    assert ">2<" in budget


def test_changing_downtime_updates_availability():
    calc = availability_calculator()
    calc.downtime_per_year_minutes.value = 52.56
    assert calc.availability_percent.value == pytest.approx(99.99)
    assert "4.00 nines" in calc.downtime.value


def test_changing_deploys_and_risk_updates_budget_used():
    calc = availability_calculator()
    calc.deploys_per_week.value = 20
    assert "99.2 %" in calc.budget.value  # 600 s of 604.8 s
    assert "within budget" in calc.budget.value
    calc.risk_seconds.value = 60
    assert "198.4 %" in calc.budget.value
    assert "over budget" in calc.budget.value
    assert ">10<" in calc.budget.value


def test_affected_share_scales_the_cost():
    calc = availability_calculator(deploys_per_week=10, risk_seconds=30)
    calc.affected_percent.value = 5  # a canary at 5 % weight
    assert "2.5 %" in calc.budget.value
    assert ">403<" in calc.budget.value


def test_hundred_percent_shows_why_there_is_no_budget():
    calc = availability_calculator()
    calc.availability_percent.value = 100
    assert "no error budget" in calc.budget.value
    assert "0 s" in calc.downtime.value


def test_defaults_are_passed_through():
    calc = availability_calculator(availability=0.9995, deploys_per_week=3, risk_seconds=12)
    assert calc.availability_percent.value == pytest.approx(99.95)
    assert "4.38 h" in calc.downtime.value
    assert "3 deploys" in calc.budget.value


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"availability": 99.9}, "write 0.999"),
        ({"availability": 1.5}, "between 0 and 1"),
        ({"risk_seconds": -1}, "risk_seconds_per_deploy"),
        ({"deploys_per_week": 2.5}, "whole number"),
        ({"affected_percent": 150}, "between 0 and 100"),
        ({"slo": 0.99}, "unknown option"),
    ],
)
def test_bad_defaults_raise_usage_error(kwargs, fragment):
    with pytest.raises(UsageError, match=fragment):
        availability_calculator(**kwargs)


def test_zero_risk_means_unlimited_deploys():
    calc = availability_calculator()
    calc.risk_seconds.value = 0
    assert "unlimited" in calc.budget.value
    assert "0.0 %" in calc.budget.value
