"""Every checker answers every input with a verdict (hypothesis, #11 item 7).

Arbitrary values — None, bools, huge and negative integers, NaN and
infinities, strings, lists, dicts, a Deployment without ``spec``, a real Lab
or TrafficRun in the wrong place — go to every exercise checker and to
``hint()``.  Each call must return a Verdict (or the hint's text) without
raising, and never through the ``@exercise`` safety net (``internal_error``):
every wrong type or shape gets its own ❌ line.  NaN and infinities are
wrong answers, never passes.
"""

from __future__ import annotations

import importlib
import inspect
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releaselab import Lab, grade
from releaselab.checks import _core, hint, rolling, shutdown
from releaselab.strategies import Analysis, Pause, StrategyResult, set_weight


def _sample_run(finished: bool = True):
    lab = Lab("sim", echo=False, seed=0)
    lab.apply(rolling.WEB)
    run = lab.traffic(rps=5)
    run.__enter__()
    lab.wait(1)
    if finished:
        run.__exit__(None, None, None)
    return lab, run


LAB, RUN = _sample_run()
_, OPEN_RUN = _sample_run(finished=False)
ODD_RESULT = StrategyResult(strategy="canary", status="weird", reason="?", started=0.0,
                            ended=1.0)

SHAPES = [
    None, True, False, 0, -1, 1, 3, 10**12, -10**12, 2.5, 3.0, float("nan"), float("inf"),
    -float("inf"), "", "3", "25%", "lots", "rolling/web.yaml", "kind: Deployment",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n", [], [1, 2], [None],
    {}, {"A": True}, {"kind": "Deployment"},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": []},
    [{"kind": "Deployment", "spec": {"template": {"spec": {"containers": []}}}}],
    [{"kind": "Deployment", "spec": {"template": {"spec": {"containers": [None]}}}}],
    {"A": float("nan"), "B": None, "C": "yes", "D": 1, "E": []},
    object(), LAB, RUN, OPEN_RUN, ODD_RESULT, Analysis, Analysis(min_requests=1),
    [set_weight(5), Pause(float("inf"))], [set_weight(5), "pause"], (set_weight(5),),
]

values = st.one_of(st.sampled_from(SHAPES), st.integers(-50, 50),
                   st.floats(allow_nan=True, allow_infinity=True, width=32),
                   st.text(max_size=12), st.lists(st.integers(-3, 3), max_size=3),
                   st.dictionaries(st.sampled_from(["A", "B", "C", "D", "E", "x"]),
                                   st.sampled_from([True, False, None, 1, "no"]), max_size=6))

def _all_checkers() -> list:
    """Every exercise checker the kit registers (each lab's module imported first)."""
    for lab in grade.LAB_MODULES:
        grade.exercises_of(lab)
    return [getattr(importlib.import_module(e.module), e.checker)
            for _, e in sorted(_core.EXERCISES.items())]


CHECKERS = _all_checkers()


def _answers(checker) -> int:
    """How many answer arguments a checker takes (its parameters without defaults)."""
    params = inspect.signature(checker).parameters.values()
    return sum(1 for p in params if p.default is inspect.Parameter.empty
               and p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)


def test_every_lab_is_here():
    assert {c.exercise.split(".")[0] for c in CHECKERS} == set(grade.LAB_MODULES)
    assert rolling.check_full_capacity in CHECKERS and shutdown.check_grace_period in CHECKERS


@pytest.mark.parametrize("checker", CHECKERS, ids=[c.__name__ for c in CHECKERS])
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_checker_answers_anything_with_a_verdict(checker, data):
    args = [data.draw(values, label=f"arg{i}") for i in range(_answers(checker))]
    verdict = checker(*args)
    assert isinstance(verdict, _core.Verdict)
    assert not verdict.internal_error, verdict.message          # no input reaches the net
    shown = repr(verdict)
    assert shown and "Traceback" not in shown
    if any(isinstance(a, float) and not math.isfinite(a) for a in args):
        assert not verdict.passed, shown                        # NaN and inf are never right


@settings(max_examples=50, deadline=None)
@given(value=values)
def test_hint_answers_anything(value):
    text = hint(value)
    assert isinstance(text, str) and text


def test_the_net_catches_what_a_checker_did_not_expect():
    @_core.exercise("99.1", "a checker with a bug")
    def buggy(answer):
        return {}[answer]

    try:
        verdict = buggy("x")
        assert verdict.internal_error and verdict.status == "error"
        assert "the checker could not judge this answer (KeyError: 'x')" in verdict.message
    finally:
        del _core.EXERCISES["99.1"]
