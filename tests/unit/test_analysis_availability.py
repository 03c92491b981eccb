"""The availability and error-budget half of releaselab.analysis, pinned to known figures.

Calendar used throughout (see the module docstring): a year is 365 days, a
month is a twelfth of it (730 h = 30.42 days), a week is 7 days.
"""

from __future__ import annotations

import doctest
import math

import pytest

from releaselab import analysis as an
from releaselab.errors import UsageError

H = 3600.0
MIN = 60.0

# --------------------------------------------------------------------------
# The classic nines table: availability, downtime per year / month / week
# (published tables with a 365-day year and a 730-hour month)
# --------------------------------------------------------------------------
NINES_TABLE = [
    # availability, per year (s),  per month (s), per week (s)
    (0.9, 36.5 * 24 * H, 73 * H, 16.8 * H),
    (0.99, 3.65 * 24 * H, 7.3 * H, 1.68 * H),
    (0.999, 8.76 * H, 43.8 * MIN, 10.08 * MIN),
    (0.9995, 4.38 * H, 21.9 * MIN, 5.04 * MIN),
    (0.9999, 52.56 * MIN, 4.38 * MIN, 60.48),
    (0.99999, 5.256 * MIN, 26.28, 6.048),
    (0.999999, 31.536, 2.628, 0.6048),
]


@pytest.mark.parametrize("availability, per_year, per_month, per_week", NINES_TABLE)
def test_downtime_allowed_matches_the_nines_table(availability, per_year, per_month, per_week):
    assert an.downtime_allowed(availability, "year") == pytest.approx(per_year, rel=1e-9)
    assert an.downtime_allowed(availability, "month") == pytest.approx(per_month, rel=1e-9)
    assert an.downtime_allowed(availability, "week") == pytest.approx(per_week, rel=1e-9)


@pytest.mark.parametrize("availability, per_year, per_month, per_week", NINES_TABLE)
def test_availability_from_downtime_inverts_downtime_allowed(
    availability, per_year, per_month, per_week
):
    assert an.availability_from_downtime(per_year, "year") == pytest.approx(availability, abs=1e-12)
    assert an.availability_from_downtime(per_month, "month") == pytest.approx(
        availability, abs=1e-12
    )
    assert an.availability_from_downtime(per_week, "week") == pytest.approx(availability, abs=1e-12)


@pytest.mark.parametrize(
    "period, seconds",
    [
        ("year", 365 * 86400),
        ("month", 730 * H),
        ("quarter", 2190 * H),
        ("30 days", 30 * 86400),
        ("28 days", 28 * 86400),
        ("week", 7 * 86400),
        ("day", 86400),
        ("hour", 3600),
        (600, 600),
        (1.5, 1.5),
    ],
)
def test_period_seconds(period, seconds):
    assert an.period_seconds(period) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "availability, n",
    [(0.9, 1.0), (0.99, 2.0), (0.999, 3.0), (0.9999, 4.0), (0.99999, 5.0), (0.0, 0.0)],
)
def test_nines_whole(availability, n):
    assert an.nines(availability) == n


@pytest.mark.parametrize("availability, n", [(0.9995, 3.30103), (0.95, 1.30103), (0.998, 2.69897)])
def test_nines_fractional(availability, n):
    assert an.nines(availability) == pytest.approx(n, abs=1e-5)


def test_nines_of_perfect_availability_is_infinite():
    assert an.nines(1.0) == math.inf


@pytest.mark.parametrize("n, availability", [(0, 0.0), (1, 0.9), (3, 0.999), (5, 0.99999)])
def test_availability_from_nines(n, availability):
    assert an.availability_from_nines(n) == pytest.approx(availability, abs=1e-15)
    assert an.nines(an.availability_from_nines(n)) == pytest.approx(n)


@pytest.mark.parametrize(
    "mtbf, mttr, availability",
    [
        (999, 1, 0.999),
        (99, 1, 0.99),
        (30 * 86400 - 43.2 * MIN, 43.2 * MIN, 0.999),  # one 43.2-min repair per 30-day cycle
        (7 * 86400, 0, 1.0),
        (1, 1, 0.5),
    ],
)
def test_availability_from_mtbf_mttr(mtbf, mttr, availability):
    assert an.availability_from_mtbf_mttr(mtbf, mttr) == pytest.approx(availability, abs=1e-12)


def test_halving_mttr_equals_doubling_mtbf():
    base = an.availability_from_mtbf_mttr(1000, 10)
    assert an.availability_from_mtbf_mttr(2000, 10) == pytest.approx(
        an.availability_from_mtbf_mttr(1000, 5)
    )
    assert an.availability_from_mtbf_mttr(1000, 5) > base


def test_downtime_from_mtbf_mttr():
    # a 10-minute outage once a week: 52.14 outages a year, about 8.68 h
    got = an.downtime_from_mtbf_mttr(7 * 86400, 600, "year")
    assert got / H == pytest.approx(8.68, abs=0.005)


@pytest.mark.parametrize(
    "parts, serial, parallel",
    [
        ((0.999, 0.999, 0.999), 0.997002999, 1 - 1e-9),
        ((0.99, 0.99), 0.9801, 0.9999),
        ((0.9,), 0.9, 0.9),
    ],
)
def test_serial_and_parallel(parts, serial, parallel):
    assert an.serial_availability(*parts) == pytest.approx(serial, abs=1e-12)
    assert an.parallel_availability(*parts) == pytest.approx(parallel, abs=1e-12)


# --------------------------------------------------------------------------
# Error budgets and deploys
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slo, window, budget_seconds",
    [
        (0.999, "30 days", 43.2 * MIN),
        (0.999, "28 days", 40.32 * MIN),
        (0.999, "month", 43.8 * MIN),
        (0.999, "week", 604.8),
        (0.9999, "week", 60.48),
        (0.99, "day", 864.0),
        (1.0, "week", 0.0),
    ],
)
def test_error_budget(slo, window, budget_seconds):
    assert an.error_budget(slo, window) == pytest.approx(budget_seconds, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "slo, total, budget", [(0.999, 1_000_000, 1000), (0.99, 3000, 30), (0.9995, 20_000, 10)]
)
def test_error_budget_requests(slo, total, budget):
    assert an.error_budget_requests(slo, total) == pytest.approx(budget)


@pytest.mark.parametrize(
    "deploys, risk, affected, seconds",
    [(10, 30, 1.0, 300), (10, 30, 0.05, 15), (0, 30, 1.0, 0), (7, 0, 1.0, 0), (2.5, 4, 0.5, 5)],
)
def test_deploy_downtime(deploys, risk, affected, seconds):
    assert an.deploy_downtime(deploys, risk, affected) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "deploys, risk, slo, window, used",
    [
        (10, 30, 0.999, "week", 300 / 604.8),
        (10, 30, 0.9999, "week", 300 / 60.48),
        (20, 30, 0.999, "week", 600 / 604.8),
        (0, 30, 0.999, "week", 0.0),
        (40, 60, 0.999, "30 days", 2400 / 2592),
        (0, 30, 1.0, "week", 0.0),
    ],
)
def test_budget_used_by_deploys(deploys, risk, slo, window, used):
    assert an.budget_used_by_deploys(deploys, risk, slo, window) == pytest.approx(used)


def test_budget_used_by_deploys_with_a_canary_blast_radius():
    # the same 30 s of errors seen by only 5 % of traffic costs 5 % as much budget
    full = an.budget_used_by_deploys(10, 30, 0.999, "week")
    canary = an.budget_used_by_deploys(10, 30, 0.999, "week", affected_fraction=0.05)
    assert canary == pytest.approx(full * 0.05)


@pytest.mark.parametrize(
    "slo, risk, window, share, affected, allowed",
    [
        (0.999, 30, "week", 1.0, 1.0, 20),
        (0.999, 30, "week", 0.5, 1.0, 10),
        (0.9999, 30, "week", 1.0, 1.0, 2),
        (0.9999, 60.48, "week", 1.0, 1.0, 1),  # exactly one fits
        (0.9999, 61, "week", 1.0, 1.0, 0),
        (0.999, 30, "week", 1.0, 0.05, 403),
        (0.999, 30.24, "week", 1.0, 1.0, 20),  # 604.8 / 30.24 = 20 exactly, no float slip
        (0.999, 2, "30 days", 1.0, 1.0, 1296),
    ],
)
def test_deploys_allowed(slo, risk, window, share, affected, allowed):
    assert an.deploys_allowed(slo, risk, window, share, affected) == allowed


@pytest.mark.parametrize(
    "ok, total, availability", [(9990, 10000, 0.999), (3000, 3000, 1.0), (0, 5, 0.0), (2994, 3000, 0.998)]
)
def test_availability_from_requests(ok, total, availability):
    assert an.availability_from_requests(ok, total) == pytest.approx(availability)


@pytest.mark.parametrize(
    "failed, total, slo, used", [(6, 3000, 0.999, 2.0), (0, 3000, 0.999, 0.0), (1, 1000, 0.99, 0.1)]
)
def test_budget_used_by_requests(failed, total, slo, used):
    assert an.budget_used_by_requests(failed, total, slo) == pytest.approx(used)


def test_downtime_table_rows():
    rows = an.downtime_table([0.99, 0.999], periods=("year", "month", "week", 3600))
    assert [r["availability"] for r in rows] == [0.99, 0.999]
    assert [r["nines"] for r in rows] == [2.0, 3.0]
    assert rows[1]["year"] == pytest.approx(8.76 * H)
    assert rows[1]["month"] == pytest.approx(43.8 * MIN)
    assert rows[1]["week"] == pytest.approx(604.8)
    assert rows[1]["3600 s"] == pytest.approx(3.6)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (8.76 * H, "8.76 h"),
        (43.8 * MIN, "43.8 min"),
        (604.8, "10.1 min"),
        (60.48, "1.01 min"),
        (6.048, "6.05 s"),
        (0.6048, "605 ms"),
        (36.5 * 86400, "36.5 d"),
        (59.999, "60.0 s"),
        (0, "0 s"),
        (1, "1.00 s"),
    ],
)
def test_human_duration(seconds, text):
    assert an.human_duration(seconds) == text


def test_from_percent():
    assert an.from_percent(99.9) == 0.999
    assert an.from_percent(99.95) == 0.9995
    assert an.from_percent(100) == 1.0


# --------------------------------------------------------------------------
# Bad input: UsageError with a one-line message that says what to fix
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: an.downtime_allowed(1.5), "between 0 and 1"),
        (lambda: an.downtime_allowed(99.9), "write 0.999 for 99.9 %"),
        (lambda: an.downtime_allowed(-0.1), "between 0 and 1"),
        (lambda: an.downtime_allowed(float("nan")), "NaN"),
        (lambda: an.downtime_allowed("0.999"), "must be a number"),
        (lambda: an.downtime_allowed(True), "must be a number"),
        (lambda: an.downtime_allowed(0.999, "fortnight"), "unknown period 'fortnight'"),
        (lambda: an.downtime_allowed(0.999, 0), "greater than 0"),
        (lambda: an.downtime_allowed(0.999, -5), "greater than 0"),
        (lambda: an.availability_from_downtime(-1, "year"), "at least 0"),
        (lambda: an.availability_from_downtime(10, 5), "longer than the period"),
        (lambda: an.nines(1.5), "between 0 and 1"),
        (lambda: an.availability_from_nines(-1), "at least 0"),
        (lambda: an.availability_from_mtbf_mttr(0, 10), "mtbf_seconds must be"),
        (lambda: an.availability_from_mtbf_mttr(100, -10), "mttr_seconds must be"),
        (lambda: an.serial_availability(), "at least one"),
        (lambda: an.parallel_availability(0.9, 2), "availability #2"),
        (lambda: an.error_budget(1.2), "slo must be"),
        (lambda: an.deploy_downtime(-1, 30), "deploys must be"),
        (lambda: an.deploy_downtime(1, -30), "risk_seconds_per_deploy must be"),
        (lambda: an.budget_used_by_deploys(1, 30, 1.0), "no error budget"),
        (lambda: an.deploys_allowed(0.999, 0), "greater than 0"),
        (lambda: an.deploys_allowed(0.999, 30, affected_fraction=0), "affected_fraction is 0"),
        (lambda: an.availability_from_requests(1, 0), "total is 0"),
        (lambda: an.availability_from_requests(5, 3), "cannot exceed"),
        (lambda: an.budget_used_by_requests(5, 3, 0.99), "cannot exceed"),
        (lambda: an.human_duration(-1), "at least 0"),
        (lambda: an.human_duration(1, digits=0), "digits must be"),
        (lambda: an.from_percent(120), "between 0 and 100"),
    ],
)
def test_bad_input_raises_usage_error_with_a_helpful_line(call, fragment):
    with pytest.raises(UsageError) as info:
        call()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_module_docstring_examples():
    failures, tried = doctest.testmod(an, optionflags=doctest.ELLIPSIS)
    assert tried > 20
    assert failures == 0

