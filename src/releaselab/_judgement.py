"""The canary judgement: is the new version worse than the baseline, or can't we tell yet?

Pure functions, objects in and numbers out (no clock, no randomness, no I/O),
so the strategies, the checks, the book and the tests all judge alike.
``releaselab.analysis`` re-exports the public names.

A judgement compares two :class:`Sample` s — the requests the *canary* (new
version) answered and those the *baseline* (stable version) answered over the
same window — and ends in one of three verdicts, as an Argo Rollouts
AnalysisRun measurement does:

``"pass"``          no evidence that the canary is worse;
``"fail"``          the canary is worse, beyond reasonable doubt;
``"inconclusive"``  fewer than ``min_requests`` canary requests: not enough data yet.

Three tests, each switched on by its threshold:

1. **Relative errors** — one-sided Fisher exact test on the 2×2 table
   (failed/ok × canary/baseline): the probability of seeing at least this
   many failures on the canary's side if both versions failed alike.  It fails
   when that p-value is below ``alpha`` *and* the canary's error rate exceeds
   the baseline's by at least ``min_difference`` (significant and large enough to matter).
2. **Absolute errors** (Flagger's request-success-rate) — one-sided exact
   binomial test of "the canary's error rate is at most ``max_error_rate``".
3. **Latency** (Flagger's request-duration) — the canary's P99 (nearest rank)
   above ``max_p99_ms``.

Why a test and not "error rate above 1 %"?  With 20 requests, one unlucky
failure is 5 %; with 5 000, 1.2 % may be a real regression.  The test weighs
the difference against the sample size, and the minimum sample stops a
verdict on a handful of requests.

Worked example — the bad canary at 5 % (30 % of its answers are 500s)::

    >>> bad = judge(Sample(52, 15), Sample(948, 0))
    >>> bad.verdict, bad.p_value < 1e-15
    ('fail', True)
    >>> judge(Sample(12, 4), Sample(188, 0)).verdict      # too few canary requests
    'inconclusive'
    >>> judge(Sample(60, 0), Sample(940, 1)).verdict      # a good canary
    'pass'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .errors import UsageError

__all__ = [
    "Sample", "Judgement", "sample_of", "judge",
    "fisher_exact_greater", "binomial_tail", "two_proportion_z", "normal_sf",
    "percentile", "wilson_interval",
    "PASS", "FAIL", "INCONCLUSIVE",
]

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


# --------------------------------------------------------------------------- samples

@dataclass(frozen=True)
class Sample:
    """Requests one version answered in a window: how many, how many failed, their latencies."""

    requests: int
    failed: int
    latencies_ms: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        if not (isinstance(self.requests, int) and isinstance(self.failed, int)):
            raise UsageError(f"Sample({self.requests!r}, {self.failed!r}): counts must be integers")
        if self.requests < 0 or not 0 <= self.failed <= self.requests:
            raise UsageError(f"Sample({self.requests}, {self.failed}): "
                             "need 0 <= failed <= requests")

    @property
    def ok(self) -> int:
        return self.requests - self.failed

    @property
    def error_rate(self) -> float:
        """Failed / requests (0 for an empty sample).

        >>> Sample(200, 3).error_rate
        0.015
        """
        return self.failed / self.requests if self.requests else 0.0

    @property
    def p99_ms(self) -> Optional[float]:
        return percentile(self.latencies_ms, 99) if self.latencies_ms else None


def sample_of(requests: Iterable) -> Sample:
    """A Sample from Timeline requests (anything with ``.ok`` and ``.latency_ms``).

    >>> from collections import namedtuple
    >>> R = namedtuple("R", "ok latency_ms")
    >>> sample_of([R(True, 6.0), R(False, 6.0), R(True, 9.0)])
    Sample(requests=3, failed=1)
    """
    n = failed = 0
    latencies = []
    for q in requests:
        n += 1
        failed += 0 if q.ok else 1
        latencies.append(float(q.latency_ms))
    return Sample(n, failed, tuple(latencies))


# --------------------------------------------------------------------------- statistics

def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact_greater(a_failed: int, a_n: int, b_failed: int, b_n: int) -> float:
    """One-sided Fisher exact p-value that A's failure rate is greater than B's.

    The 2×2 table is ``[[a_failed, a_n - a_failed], [b_failed, b_n - b_failed]]``;
    with the margins fixed, the count in the first cell is hypergeometric, and
    the p-value is P(X >= a_failed).  The lady tasting tea (3 of 4 right) is 17/70:

    >>> round(fisher_exact_greater(3, 4, 1, 4), 6), round(17 / 70, 6)
    (0.242857, 0.242857)
    >>> fisher_exact_greater(0, 50, 0, 950)          # no failure anywhere: no evidence
    1.0
    >>> round(fisher_exact_greater(1, 50, 0, 950), 4)  # the one failure fell on A: 50/1000
    0.05
    """
    for name, (x, n) in {"a": (a_failed, a_n), "b": (b_failed, b_n)}.items():
        if not 0 <= x <= n:
            raise UsageError(f"fisher_exact_greater: {name}: need 0 <= failed <= n, got {x} of {n}")
    failures, total = a_failed + b_failed, a_n + b_n
    if total == 0 or failures == 0:
        return 1.0
    lo, hi = max(0, failures - b_n), min(a_n, failures)
    log_denominator = _log_choose(total, failures)
    p = 0.0
    for x in range(max(a_failed, lo), hi + 1):
        p += math.exp(_log_choose(a_n, x) + _log_choose(b_n, failures - x) - log_denominator)
    return min(1.0, p)


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the exact one-sided test of "rate <= p".

    >>> round(binomial_tail(1, 10, 0.1), 4)      # 1 - 0.9**10
    0.6513
    >>> round(binomial_tail(5, 100, 0.01), 5)    # 5 failures in 100 when 1 % is allowed
    0.00343
    >>> binomial_tail(0, 7, 0.2)
    1.0
    """
    if not 0 <= p <= 1:
        raise UsageError(f"binomial_tail: p={p!r} must be a fraction between 0 and 1")
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p == 0:
        return 0.0
    if p == 1:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    return min(1.0, sum(math.exp(_log_choose(n, i) + i * lp + (n - i) * lq)
                        for i in range(k, n + 1)))


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z.

    >>> round(normal_sf(1.6449), 4)
    0.05
    >>> normal_sf(0.0)
    0.5
    """
    return 0.5 * math.erfc(z / math.sqrt(2))


def two_proportion_z(a_failed: int, a_n: int, b_failed: int, b_n: int) -> tuple[float, float]:
    """(z, one-sided p) of the pooled two-proportion z-test that A fails more often than B.

    The large-sample approximation of :func:`fisher_exact_greater`; shown in
    the book beside it.  30/100 against 10/100: pooled rate 0.2, standard
    error sqrt(0.2 × 0.8 × (1/100 + 1/100)) = 0.0566, z = 0.2 / 0.0566:

    >>> z, p = two_proportion_z(30, 100, 10, 100)
    >>> round(z, 4), f"{p:.3g}"
    (3.5355, '0.000203')
    >>> two_proportion_z(0, 40, 0, 60)
    (0.0, 0.5)
    """
    if a_n <= 0 or b_n <= 0:
        raise UsageError("two_proportion_z needs requests on both sides (a_n > 0 and b_n > 0)")
    pa, pb = a_failed / a_n, b_failed / b_n
    pooled = (a_failed + b_failed) / (a_n + b_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a_n + 1 / b_n))
    if se == 0:
        return 0.0, 0.5
    z = (pa - pb) / se
    return z, normal_sf(z)


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank q-th percentile (the smallest value with q % of values at or below it).

    >>> percentile(range(1, 101), 99)
    99
    >>> percentile([5.0, 6.0, 250.0], 99)     # 3 values: P99 is the largest
    250.0
    >>> percentile([3, 1, 2], 50)
    2
    """
    ordered = sorted(values)
    if not ordered:
        raise UsageError("percentile of no values")
    if not 0 < q <= 100:
        raise UsageError(f"percentile q={q!r}: must be in (0, 100]")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wilson_interval(failed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of an error rate (95 % by default).

    >>> [round(x, 3) for x in wilson_interval(15, 50)]
    [0.191, 0.438]
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    p = failed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- the verdict

@dataclass(frozen=True)
class Judgement:
    """One measurement's verdict, with every number it was based on."""

    verdict: str                    # PASS, FAIL or INCONCLUSIVE
    reason: str
    canary: Sample
    baseline: Sample
    p_value: Optional[float] = None     # Fisher, canary worse than baseline
    p_absolute: Optional[float] = None  # binomial, canary above max_error_rate

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @property
    def inconclusive(self) -> bool:
        return self.verdict == INCONCLUSIVE

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _p(x: float) -> str:
    return f"{x:.2g}" if x >= 1e-4 else f"{x:.1e}"


def judge(canary: Sample, baseline: Sample, *, min_requests: int = 50, alpha: float = 0.01,
          min_difference: float = 0.01, max_error_rate: Optional[float] = None,
          max_p99_ms: Optional[float] = None,
          names: tuple = ("canary", "baseline")) -> Judgement:
    """Compare the canary with the baseline: ``pass``, ``fail`` or ``inconclusive``.

    ``min_requests``   canary requests needed before any verdict (Flagger and
                       Argo both refuse to judge on too little traffic);
    ``alpha``          significance level of the one-sided tests (0.01: a
                       strategy measures many times, so each test is strict);
    ``min_difference`` how much higher the canary's error rate must be than the
                       baseline's for the relative test to fail (1 point);
    ``max_error_rate`` absolute ceiling (Flagger's request-success-rate 99 % is 0.01);
    ``max_p99_ms``     latency ceiling (Flagger's request-duration, P99 in ms);
    ``names``          what the reason calls the two sides (blue-green: the colours).

    >>> judge(Sample(120, 2), Sample(880, 0)).verdict     # 1.7 %, p = 0.014: not below 0.01
    'pass'
    >>> print(judge(Sample(120, 6), Sample(880, 0)))      # 5.0 % vs 0: p = 2.7e-06
    fail: canary 6/120 failed (5.0 %) vs baseline 0/880 (0.0 %): p = 2.7e-06 < 0.01
    >>> print(judge(Sample(200, 3), Sample(0, 0), max_error_rate=0.01))
    pass: canary 3/200 failed (1.5 %), no baseline to compare; not above 1.0 % (p = 0.32)
    >>> slow = Sample(60, 0, (6.0,) * 59 + (900.0,))
    >>> judge(slow, Sample(900, 0), max_p99_ms=500).verdict   # 1 slow answer in 60 is the P99
    'fail'
    """
    if min_requests < 1:
        raise UsageError(f"min_requests={min_requests!r}: must be at least 1")
    if not 0 < alpha < 1:
        raise UsageError(f"alpha={alpha!r}: a significance level between 0 and 1, e.g. 0.01")
    new_name, base_name = names
    if canary.requests < min_requests:
        return Judgement(INCONCLUSIVE, f"not enough data yet: {canary.requests} of "
                         f"{min_requests} {new_name} requests needed", canary, baseline)
    rate_c = canary.error_rate
    described = f"{new_name} {canary.failed}/{canary.requests} failed ({_pct(rate_c)})"
    p_rel = p_abs = None
    problems, notes = [], []
    if baseline.requests > 0:
        p_rel = fisher_exact_greater(canary.failed, canary.requests,
                                     baseline.failed, baseline.requests)
        described += (f" vs {base_name} {baseline.failed}/{baseline.requests} "
                      f"({_pct(baseline.error_rate)})")
        worse_by = rate_c - baseline.error_rate
        if p_rel < alpha and worse_by >= min_difference:
            problems.append(f"p = {_p(p_rel)} < {alpha:g}")
        else:
            notes.append(f"p = {_p(p_rel)}")
    else:
        described += f", no {base_name} to compare"
    if max_error_rate is not None:
        p_abs = binomial_tail(canary.failed, canary.requests, max_error_rate)
        if p_abs < alpha:
            problems.append(f"above {_pct(max_error_rate)} (p = {_p(p_abs)})")
        else:
            notes.append(f"not above {_pct(max_error_rate)} (p = {_p(p_abs)})")
    if max_p99_ms is not None and canary.latencies_ms:
        p99 = canary.p99_ms
        if p99 > max_p99_ms:
            problems.append(f"P99 {p99:g} ms > {max_p99_ms:g} ms")
        else:
            notes.append(f"P99 {p99:g} ms")
    if problems:
        return Judgement(FAIL, f"{described}: {'; '.join(problems)}", canary, baseline,
                         p_rel, p_abs)
    tail = f"; {', '.join(notes)}" if notes else ""
    return Judgement(PASS, described + tail, canary, baseline, p_rel, p_abs)
