"""Pure arithmetic for judging releases: objects in, numbers out.

No clock, no randomness, no I/O: the book, the widgets, the simulator and the
checks all call these functions, and the unit tests pin them to known figures.

The module has two halves, each under its own section header below:

1. **Availability and error budgets** — the nines, downtime per period,
   MTBF/MTTR, SLOs, error budgets and how many deployments a budget affords.
2. **Canary judgement** — comparing a canary's request outcomes with the
   baseline's (to be added; see the header at the end of the file).

Conventions of the first half
-----------------------------
* An *availability* (or an SLO target) is a **fraction** between 0 and 1:
  99.9 % is ``0.999``. Passing ``99.9`` raises :class:`~releaselab.errors.UsageError`
  with a message that says so (use :func:`from_percent` to convert).
* Durations are **seconds** (floats). :func:`human_duration` turns them into
  text such as ``"8.76 h"``.
* A *period* (or SLO *window*) is either a name from :data:`PERIODS` or a
  positive number of seconds. The calendar is fixed so figures are exact and
  repeatable: a year is 365 days, a month is a twelfth of that year
  (30.42 days = 730 h), a quarter is a quarter of it, a week is 7 days.
  With those lengths 99.9 % allows exactly 8.76 h a year and 43.8 min a month.
"""

from __future__ import annotations

import math
from numbers import Real

from releaselab.errors import UsageError

__all__ = [
    # --- availability and error budgets ---
    "SECONDS_PER_MINUTE",
    "SECONDS_PER_HOUR",
    "SECONDS_PER_DAY",
    "PERIODS",
    "period_seconds",
    "from_percent",
    "downtime_allowed",
    "availability_from_downtime",
    "nines",
    "availability_from_nines",
    "availability_from_mtbf_mttr",
    "downtime_from_mtbf_mttr",
    "serial_availability",
    "parallel_availability",
    "error_budget",
    "error_budget_requests",
    "deploy_downtime",
    "budget_used_by_deploys",
    "deploys_allowed",
    "availability_from_requests",
    "budget_used_by_requests",
    "downtime_table",
    "human_duration",
    # --- canary judgement --- (added by the canary half)
]


# ===========================================================================
# 1. Availability and error budgets
# ===========================================================================

SECONDS_PER_MINUTE = 60.0
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0

_YEAR = 365 * SECONDS_PER_DAY

#: The named periods (and SLO windows), in seconds. A month is a twelfth of a
#: 365-day year (730 h); quoted tables that use a 30.44-day month or a
#: 365.25-day year differ in the third significant digit.
PERIODS: dict[str, float] = {
    "year": _YEAR,
    "quarter": _YEAR / 4,
    "month": _YEAR / 12,
    "30 days": 30 * SECONDS_PER_DAY,
    "28 days": 28 * SECONDS_PER_DAY,
    "week": 7 * SECONDS_PER_DAY,
    "day": SECONDS_PER_DAY,
    "hour": SECONDS_PER_HOUR,
}


# --- validation helpers (one-line messages that say what to fix) ----------


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise UsageError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise UsageError(f"{name} must be a number, got NaN")
    return value


def _fraction(name: str, value) -> float:
    """A number in [0, 1]; a percentage by mistake gets a hint."""
    value = _number(name, value)
    if 1.0 < value <= 100.0:
        raise UsageError(
            f"{name} must be a fraction between 0 and 1, got {value:g}: "
            f"write {value / 100:g} for {value:g} %"
        )
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name} must be a fraction between 0 and 1, got {value:g}")
    return value


def _non_negative(name: str, value) -> float:
    value = _number(name, value)
    if value < 0 or math.isinf(value):
        raise UsageError(f"{name} must be a finite number of at least 0, got {value:g}")
    return value


def _positive(name: str, value) -> float:
    value = _number(name, value)
    if value <= 0 or math.isinf(value):
        raise UsageError(f"{name} must be a finite number greater than 0, got {value:g}")
    return value


def period_seconds(period: str | float = "year") -> float:
    """The length of a period in seconds: a name from :data:`PERIODS` or seconds.

    >>> period_seconds("year") / SECONDS_PER_HOUR
    8760.0
    >>> period_seconds("month") / SECONDS_PER_HOUR
    730.0
    >>> period_seconds(600)
    600.0
    """
    if isinstance(period, str):
        try:
            return PERIODS[period]
        except KeyError:
            names = ", ".join(repr(p) for p in PERIODS)
            raise UsageError(
                f"unknown period {period!r}: use one of {names} or a number of seconds"
            ) from None
    return _positive("period (seconds)", period)


def from_percent(percent: float) -> float:
    """A percentage as the fraction this module expects: ``99.95`` → ``0.9995``.

    >>> from_percent(99.9)
    0.999
    """
    percent = _number("percent", percent)
    if not 0.0 <= percent <= 100.0:
        raise UsageError(f"percent must be between 0 and 100, got {percent:g}")
    return round(percent / 100.0, 15)


# --- availability <-> downtime ---------------------------------------------


def downtime_allowed(availability: float, period: str | float = "year") -> float:
    """Seconds of downtime an availability allows over a period.

    downtime = (1 − availability) × period.

    >>> round(downtime_allowed(0.999, "year") / SECONDS_PER_HOUR, 2)   # three nines
    8.76
    >>> round(downtime_allowed(0.999, "month") / SECONDS_PER_MINUTE, 1)
    43.8
    >>> round(downtime_allowed(0.9999, "week"), 2)                    # seconds
    60.48
    """
    availability = _fraction("availability", availability)
    return (1.0 - availability) * period_seconds(period)


def availability_from_downtime(downtime_seconds: float, period: str | float = "year") -> float:
    """The availability a period had when it contained this much downtime.

    availability = 1 − downtime / period.

    >>> round(availability_from_downtime(3600, "year"), 6)     # one hour a year
    0.999886
    >>> availability_from_downtime(0, "month")
    1.0
    """
    downtime = _non_negative("downtime_seconds", downtime_seconds)
    length = period_seconds(period)
    if downtime > length:
        raise UsageError(
            f"downtime_seconds ({downtime:g}) is longer than the period ({length:g} s)"
        )
    return 1.0 - downtime / length


def nines(availability: float) -> float:
    """How many nines an availability has: −log10(1 − availability).

    99.9 % is 3 nines, 99.95 % is about 3.3, 100 % is infinitely many.
    The result is rounded to 9 decimals so 0.999 gives exactly 3.0.

    >>> nines(0.999)
    3.0
    >>> round(nines(0.9995), 2)
    3.3
    """
    availability = _fraction("availability", availability)
    if availability == 1.0:
        return math.inf
    return round(-math.log10(1.0 - availability), 9)


def availability_from_nines(n: float) -> float:
    """The availability with ``n`` nines: 1 − 10^(−n).

    >>> availability_from_nines(4)
    0.9999
    >>> round(availability_from_nines(3.5), 6)
    0.999684
    """
    n = _non_negative("n (number of nines)", n)
    return round(1.0 - 10.0 ** (-n), 15)


# --- failures and repairs ---------------------------------------------------


def availability_from_mtbf_mttr(mtbf_seconds: float, mttr_seconds: float) -> float:
    """Steady-state availability from mean time between failures and to repair.

    availability = MTBF / (MTBF + MTTR). Halving the repair time buys as much
    as doubling the time between failures.

    >>> round(availability_from_mtbf_mttr(30 * 86400, 43.2 * 60), 4)   # monthly failure, 43.2 min fix
    0.999
    >>> round(availability_from_mtbf_mttr(999, 1), 6)
    0.999
    """
    mtbf = _positive("mtbf_seconds", mtbf_seconds)
    mttr = _non_negative("mttr_seconds", mttr_seconds)
    return mtbf / (mtbf + mttr)


def downtime_from_mtbf_mttr(
    mtbf_seconds: float, mttr_seconds: float, period: str | float = "year"
) -> float:
    """Expected downtime per period for a system with this MTBF and MTTR.

    >>> round(downtime_from_mtbf_mttr(7 * 86400, 600, "year") / 3600, 2)  # weekly 10-min outage
    8.68
    """
    return downtime_allowed(availability_from_mtbf_mttr(mtbf_seconds, mttr_seconds), period)


def serial_availability(*parts: float) -> float:
    """Availability of components that must ALL work (a request chain): the product.

    >>> round(serial_availability(0.999, 0.999, 0.999), 6)   # three 3-nines hops
    0.997003
    """
    if not parts:
        raise UsageError("serial_availability needs at least one availability")
    result = 1.0
    for i, a in enumerate(parts):
        result *= _fraction(f"availability #{i + 1}", a)
    return result


def parallel_availability(*parts: float) -> float:
    """Availability of redundant components where ANY one suffices: 1 − Π(1 − a).

    Assumes independent failures — which a bad release shipped to every
    replica at once is not.

    >>> round(parallel_availability(0.99, 0.99), 6)
    0.9999
    """
    if not parts:
        raise UsageError("parallel_availability needs at least one availability")
    unavailable = 1.0
    for i, a in enumerate(parts):
        unavailable *= 1.0 - _fraction(f"availability #{i + 1}", a)
    return 1.0 - unavailable


# --- SLOs and error budgets ---------------------------------------------------


def error_budget(slo: float, window: str | float = "month") -> float:
    """The error budget of a time-based SLO: seconds of unavailability it tolerates.

    It is the same number as :func:`downtime_allowed`; the name says what it
    is *for*: a budget you may spend (on deploys, experiments, incidents).

    >>> round(error_budget(0.999, "30 days") / 60, 1)
    43.2
    >>> round(error_budget(0.999, "week"), 1)
    604.8
    """
    return downtime_allowed(_fraction("slo", slo), window)


def error_budget_requests(slo: float, total_requests: int) -> float:
    """The error budget of a request-based SLO: failed requests it tolerates.

    >>> round(error_budget_requests(0.999, 1_000_000), 6)
    1000.0
    """
    slo = _fraction("slo", slo)
    total = _non_negative("total_requests", total_requests)
    return (1.0 - slo) * total


def deploy_downtime(
    deploys: float, risk_seconds_per_deploy: float, affected_fraction: float = 1.0
) -> float:
    """Full-outage-equivalent seconds that ``deploys`` deployments cost.

    ``risk_seconds_per_deploy`` is how long each deployment degrades service
    (requests refused during the endpoint race, a bad version's errors before
    rollback, ...); ``affected_fraction`` is the share of traffic that sees it
    (1.0 for an outage, 0.05 for a canary at 5 % weight).

    >>> deploy_downtime(10, 30)
    300.0
    >>> deploy_downtime(10, 30, affected_fraction=0.05)
    15.0
    """
    deploys = _non_negative("deploys", deploys)
    risk = _non_negative("risk_seconds_per_deploy", risk_seconds_per_deploy)
    affected = _fraction("affected_fraction", affected_fraction)
    return deploys * risk * affected


def budget_used_by_deploys(
    deploys: float,
    risk_seconds_per_deploy: float,
    slo: float,
    window: str | float = "week",
    affected_fraction: float = 1.0,
) -> float:
    """Fraction of a window's error budget that the window's deploys consume.

    ``deploys`` is the number of deployments *in that window*. A result above
    1.0 means the deploys alone break the SLO.

    >>> round(budget_used_by_deploys(10, 30, 0.999, "week"), 4)   # 300 s of 604.8 s
    0.496
    >>> round(budget_used_by_deploys(10, 30, 0.9999, "week"), 3)  # 300 s of 60.48 s
    4.96
    """
    budget = error_budget(slo, window)
    spent = deploy_downtime(deploys, risk_seconds_per_deploy, affected_fraction)
    if budget == 0.0:
        if spent == 0.0:
            return 0.0
        raise UsageError(
            "an SLO of 100 % has no error budget, so any deploy risk exceeds it: "
            "use an SLO below 1.0"
        )
    return spent / budget


def deploys_allowed(
    slo: float,
    risk_seconds_per_deploy: float,
    window: str | float = "week",
    budget_share: float = 1.0,
    affected_fraction: float = 1.0,
) -> int:
    """How many deployments fit in a window's error budget (rounded down).

    ``budget_share`` is the part of the budget you are willing to spend on
    deployments (the rest is kept for incidents). A deploy with no risk would
    be unlimited, so ``risk_seconds_per_deploy`` must be greater than 0.

    >>> deploys_allowed(0.999, 30, "week")            # 604.8 s // 30 s
    20
    >>> deploys_allowed(0.999, 30, "week", budget_share=0.5)
    10
    >>> deploys_allowed(0.9999, 30, "week")           # 60.48 s // 30 s
    2
    """
    risk = _positive("risk_seconds_per_deploy", risk_seconds_per_deploy)
    share = _fraction("budget_share", budget_share)
    affected = _fraction("affected_fraction", affected_fraction)
    if affected == 0.0:
        raise UsageError("affected_fraction is 0, so deploys cost nothing: use a value above 0")
    budget = error_budget(slo, window) * share
    # A tiny epsilon keeps 604.8 / 30.24 = 20 from becoming 19.999999999999996.
    return int(math.floor(budget / (risk * affected) + 1e-9))


# --- measured availability -----------------------------------------------------


def availability_from_requests(ok: int, total: int) -> float:
    """Request-based availability: the fraction of requests that succeeded.

    This is what the labs measure: ``ok`` are requests answered 2xx, ``total``
    all requests sent (see ``run.summary()``).

    >>> availability_from_requests(9_990, 10_000)
    0.999
    >>> availability_from_requests(2_994, 3_000)
    0.998
    """
    ok = _non_negative("ok", ok)
    total = _non_negative("total", total)
    if total == 0:
        raise UsageError("total is 0: availability needs at least one request")
    if ok > total:
        raise UsageError(f"ok ({ok:g}) cannot exceed total ({total:g})")
    return ok / total


def budget_used_by_requests(failed: int, total: int, slo: float) -> float:
    """Fraction of a request-based error budget that ``failed`` of ``total`` used.

    >>> round(budget_used_by_requests(6, 3_000, 0.999), 6)   # budget is 3 requests
    2.0
    """
    failed = _non_negative("failed", failed)
    total = _non_negative("total", total)
    if failed > total:
        raise UsageError(f"failed ({failed:g}) cannot exceed total ({total:g})")
    budget = error_budget_requests(slo, total)
    if budget == 0.0:
        if failed == 0.0:
            return 0.0
        raise UsageError("the error budget is 0 (SLO of 100 % or no requests): use an SLO below 1.0")
    return failed / budget


# --- tables and text -----------------------------------------------------------


def downtime_table(
    availabilities, periods=("year", "month", "week", "day")
) -> list[dict[str, float]]:
    """Rows of allowed downtime (seconds) per period, one row per availability.

    Each row has ``availability``, ``nines`` and one key per period name.

    >>> row = downtime_table([0.999])[0]
    >>> round(row["year"] / 3600, 2), round(row["month"] / 60, 1), row["nines"]
    (8.76, 43.8, 3.0)
    """
    rows = []
    for a in availabilities:
        row: dict[str, float] = {"availability": _fraction("availability", a), "nines": nines(a)}
        for p in periods:
            key = p if isinstance(p, str) else f"{p:g} s"
            row[key] = downtime_allowed(a, p)
        rows.append(row)
    return rows


_UNITS = (
    ("d", SECONDS_PER_DAY),
    ("h", SECONDS_PER_HOUR),
    ("min", SECONDS_PER_MINUTE),
    ("s", 1.0),
)


def human_duration(seconds: float, digits: int = 3) -> str:
    """A duration as short text with ``digits`` significant digits.

    The largest unit (d, h, min, s, ms) in which the value is at least 1.

    >>> human_duration(31_536)        # 99.9 % of a year
    '8.76 h'
    >>> human_duration(2_628)         # 99.9 % of a month
    '43.8 min'
    >>> human_duration(0.8640)
    '864 ms'
    >>> human_duration(0)
    '0 s'
    """
    seconds = _non_negative("seconds", seconds)
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
        raise UsageError(f"digits must be a whole number of at least 1, got {digits!r}")
    if seconds == 0:
        return "0 s"
    for unit, size in _UNITS:
        if seconds >= size:
            return f"{_significant(seconds / size, digits)} {unit}"
    return f"{_significant(seconds * 1000.0, digits)} ms"


def _significant(value: float, digits: int) -> str:
    """``value`` rounded to ``digits`` significant digits, without exponent."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    rounded = round(value, decimals)
    # Rounding may carry into a new digit (9.996 -> 10.0): re-trim.
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:
        decimals = max(decimals - 1, 0)
        rounded = round(value, decimals)
    return f"{rounded:.{decimals}f}"


# ===========================================================================
# 2. Canary judgement
# ===========================================================================
#
# Comparing a canary's request outcomes with the baseline's (error-rate and
# latency gates, pass / fail / inconclusive below a minimum sample).  The
# statistics live in their own private module, written to the same rules as
# section 1 (pure functions, fractions for rates, UsageError for bad input);
# this is their public home.

from ._judgement import (FAIL, INCONCLUSIVE, PASS, Judgement, Sample,  # noqa: E402
                         binomial_tail, fisher_exact_greater, judge, normal_sf, percentile,
                         sample_of, two_proportion_z, wilson_interval)

__all__ += ["Sample", "Judgement", "sample_of", "judge", "fisher_exact_greater", "binomial_tail",
            "two_proportion_z", "normal_sf", "percentile", "wilson_interval",
            "PASS", "FAIL", "INCONCLUSIVE"]
