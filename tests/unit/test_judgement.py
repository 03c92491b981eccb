"""The canary judgement (releaselab._judgement): table-driven, against known values."""

import doctest
import math
from collections import namedtuple

import pytest

from releaselab import _judgement as j
from releaselab.errors import UsageError


def test_doctests():
    result = doctest.testmod(j)
    assert result.attempted > 20 and result.failed == 0


@pytest.mark.parametrize("a_failed, a_n, b_failed, b_n, expected", [
    (3, 4, 1, 4, 17 / 70),                 # the lady tasting tea, one-sided
    (4, 4, 0, 4, 1 / 70),                  # all four right
    (0, 50, 0, 950, 1.0),                  # no failure at all
    (1, 50, 0, 950, 50 / 1000),            # the single failure fell on A
    (2, 120, 0, 880, (120 * 119) / (1000 * 999)),   # both failures on A: C(120,2)/C(1000,2)
    (0, 10, 5, 10, 1.0),                   # A has none: every table is at least as extreme
    (1, 2, 1, 2, 5 / 6),                   # margins 2 failures in 4: P(X >= 1) = 1 - 1/6
])
def test_fisher_exact_greater(a_failed, a_n, b_failed, b_n, expected):
    assert j.fisher_exact_greater(a_failed, a_n, b_failed, b_n) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("k, n, p, expected", [
    (1, 10, 0.1, 1 - 0.9 ** 10),
    (0, 10, 0.5, 1.0),
    (11, 10, 0.5, 0.0),
    (10, 10, 0.5, 0.5 ** 10),
    (2, 3, 0.5, 0.5),                      # P(2) + P(3) = 3/8 + 1/8
    (1, 5, 0.0, 0.0),
    (5, 100, 0.01, 0.0034323216),         # exact: 1 - sum_{i<5} C(100,i) .01^i .99^(100-i)
])
def test_binomial_tail(k, n, p, expected):
    assert j.binomial_tail(k, n, p) == pytest.approx(expected, rel=1e-4, abs=1e-12)


@pytest.mark.parametrize("z, expected", [(0.0, 0.5), (1.959964, 0.025), (2.326348, 0.01),
                                         (-1.644854, 0.95)])
def test_normal_sf(z, expected):
    assert j.normal_sf(z) == pytest.approx(expected, abs=1e-6)


def test_two_proportion_z_known_value():
    z, p = j.two_proportion_z(30, 100, 10, 100)
    assert z == pytest.approx(0.2 / math.sqrt(0.2 * 0.8 * 0.02))
    assert p == pytest.approx(j.normal_sf(z))
    with pytest.raises(UsageError):
        j.two_proportion_z(1, 0, 1, 10)


def test_z_and_fisher_agree_on_large_samples():
    # 60/2000 vs 30/2000: both tests see a clear difference, within a factor of a few.
    z, p_z = j.two_proportion_z(60, 2000, 30, 2000)
    p_f = j.fisher_exact_greater(60, 2000, 30, 2000)
    assert p_z < 0.01 and p_f < 0.01 and 0.2 < p_f / p_z < 5


@pytest.mark.parametrize("values, q, expected", [
    (range(1, 101), 99, 99), (range(1, 101), 100, 100), (range(1, 101), 50, 50),
    ([7], 99, 7), ([5.0, 6.0, 250.0], 99, 250.0), ([1, 2, 3, 4], 25, 1),
])
def test_percentile_nearest_rank(values, q, expected):
    assert j.percentile(values, q) == expected


def test_percentile_rejects_empty_and_bad_q():
    with pytest.raises(UsageError):
        j.percentile([], 99)
    with pytest.raises(UsageError):
        j.percentile([1], 0)


@pytest.mark.parametrize("failed, n, low, high", [(15, 50, 0.1910, 0.4375), (0, 100, 0.0, 0.0370),
                                                   (0, 0, 0.0, 1.0)])
def test_wilson_interval(failed, n, low, high):
    lo, hi = j.wilson_interval(failed, n)
    assert lo == pytest.approx(low, abs=5e-4) and hi == pytest.approx(high, abs=5e-4)


S = j.Sample


@pytest.mark.parametrize("canary, baseline, kwargs, verdict", [
    (S(52, 15), S(948, 0), {}, "fail"),              # the 30 % bad canary at 5 %
    (S(12, 4), S(188, 0), {}, "inconclusive"),       # too few canary requests yet
    (S(49, 20), S(951, 0), {}, "inconclusive"),      # however bad: the minimum is a floor
    (S(12, 4), S(188, 0), {"min_requests": 10}, "fail"),
    (S(60, 0), S(940, 1), {}, "pass"),               # a good canary
    (S(50, 1), S(950, 0), {}, "pass"),               # one unlucky failure: p = 0.05
    (S(120, 2), S(880, 0), {}, "pass"),              # p = 0.014, not below 0.01
    (S(120, 2), S(880, 0), {"alpha": 0.05}, "fail"),
    (S(120, 2), S(880, 0), {"alpha": 0.05, "min_difference": 0.05}, "pass"),  # too small to matter
    (S(200, 3), S(0, 0), {"max_error_rate": 0.01}, "pass"),   # 1.5 % of 200: not surely > 1 %
    (S(200, 8), S(0, 0), {"max_error_rate": 0.01}, "fail"),   # 4 % of 200: surely > 1 %
    (S(200, 0), S(0, 0), {}, "pass"),                # nothing to compare, no ceiling: pass
])
def test_judge_table(canary, baseline, kwargs, verdict):
    assert j.judge(canary, baseline, **kwargs).verdict == verdict


def test_judge_latency_ceiling():
    fast = S(100, 0, (6.0,) * 100)
    slow = S(100, 0, (6.0,) * 98 + (700.0, 800.0))
    assert j.judge(fast, S(900, 0), max_p99_ms=500).passed
    bad = j.judge(slow, S(900, 0), max_p99_ms=500)
    assert bad.failed and "P99 700 ms > 500 ms" in bad.reason


def test_judgement_reason_has_the_numbers():
    out = j.judge(S(52, 15), S(948, 0))
    assert out.failed and "15/52" in out.reason and "0/948" in out.reason
    assert out.p_value < 1e-15
    assert str(j.judge(S(12, 4), S(188, 0))) == \
        "inconclusive: not enough data yet: 12 of 50 canary requests needed"


def test_sample_of_timeline_requests():
    R = namedtuple("R", "ok latency_ms")
    s = j.sample_of([R(True, 5.0), R(False, 1.0), R(False, 9.0), R(True, 6.0)])
    assert (s.requests, s.failed, s.ok, s.error_rate) == (4, 2, 2, 0.5)
    assert s.p99_ms == 9.0


@pytest.mark.parametrize("args", [(5, 6), (-1, 0), (3, -1)])
def test_sample_rejects_impossible_counts(args):
    with pytest.raises(UsageError):
        S(*args)


def test_judge_rejects_bad_thresholds():
    with pytest.raises(UsageError):
        j.judge(S(10, 0), S(10, 0), min_requests=0)
    with pytest.raises(UsageError):
        j.judge(S(10, 0), S(10, 0), alpha=5)
