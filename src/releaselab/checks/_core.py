"""What every exercise checker shares: its verdict, the help that escalates, the grade record.

A checker judges the reader's *run*: it simulates their answer on the
simulator (``Lab("sim", ...)``, whatever ``RELEASELAB_BACKEND`` says — a
checker never touches the reader's real cluster) or it reads the Timeline of
what they ran themselves.  So any correct answer passes.

How a checker is written (lab 05 follows the same rules)::

    @exercise("01.1", "never below full capacity", hint="which field lets …?")
    def check_full_capacity(max_surge, max_unavailable) -> Verdict:
        if unanswered(max_surge, max_unavailable):
            return missing("set max_surge and max_unavailable, then run this cell again",
                           hint="…how to start…")
        if not is_int_or_percent(max_surge):                 # 1. check every argument first
            return failed(f"max_surge={max_surge!r}: expected a whole number or '25%'")
        run = simulate(...)                                   # 2. measure
        if run.min_ready < 4:                                 # 3. judge
            return failed("ready pods fell to 3 of 4 …",      #    what was MEASURED, and why
                          hint="which field lets …?",         #    a nudge, on request
                          fix="set maxUnavailable to 0 …")    #    the answer, last
        return passed("ready pods never dropped below 4 …")

Rules: every number in a message comes from the run (or from the reader's
own settings); the first wrong answer gets only what was measured and why it
misses; :func:`hint` — or the next *different* wrong answer — adds the hint;
the fix comes only when asked for: ``hint()`` once the hint is shown (so
``hint()`` twice from a first wrong answer).  No number of wrong answers ever
shows the fix by itself, so guessing again never pays better than asking.
Re-running the same answer gives the same verdict, word for word.  Every
exercise has a hint of its own (``@exercise(..., hint=...)``): a ❌ whose
message has none (an argument of the wrong type, say) gets that one, so
``hint()`` always says something about the exercise.  A checker that simulates
the answer says so in its docstring and uses ``Lab("sim")``; one that judges
the reader's own run says "reads the reader's run" and builds no Lab.

Helpers: :func:`whole` (``3`` or ``3.0`` → 3, else None), :func:`is_number`
(finite, not a bool), :func:`describe` (a short repr for a message),
:func:`load_answer` (a manifest answer, or a ❌ saying why it is not one),
:func:`first_wrong`.  Beware: a failed Verdict is falsy, so argument checks
that return a Verdict or None are tested with ``is not None``, never ``or``.

``@exercise`` also makes a checker safe to call with anything: a
``ReleaseLabError`` raised while measuring becomes a ❌ verdict with its one
line, and any other exception becomes an "error" verdict instead of a
traceback (the tests make sure no input reaches that net).  Each verdict is
recorded in this kernel for ``releaselab grade`` (:func:`_export`), which reads
the record through the kernel protocol — printing "✅" in a cell counts for
nothing.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from ..errors import ReleaseLabError

PASS, FAIL, UNANSWERED, ERROR = "pass", "fail", "unanswered", "error"
#: Help levels: 0 what was measured and why; 1 + the hint; 2 + the fix (only on request).
MEASURED, HINT, FIX = 0, 1, 2
#: Records kept for ``releaselab grade`` (the oldest go first; the grader reads after each cell).
LOG_LIMIT = 10_000


@dataclass(frozen=True)
class Verdict:
    """A checker's answer; its repr is what the notebook shows.

    ``message`` says what was measured and why it passes or misses;
    ``hint_text`` and ``fix_text`` are shown only from help ``level`` 1 and 2.
    """

    passed: bool
    message: str
    answered: bool = True
    hint_text: Optional[str] = None
    fix_text: Optional[str] = None
    exercise: Optional[str] = None
    level: int = MEASURED
    internal_error: bool = False

    @property
    def status(self) -> str:
        """``pass``, ``fail``, ``unanswered`` or ``error`` (the checker itself failed)."""
        if self.internal_error:
            return ERROR
        if self.passed:
            return PASS
        return FAIL if self.answered else UNANSWERED

    def __repr__(self) -> str:
        if not self.answered:
            lines = [f"… not answered yet: {self.message}"]
        else:
            lines = [("✅ " if self.passed else "❌ ") + self.message]
        if not self.passed:
            if self.level >= HINT and self.hint_text:
                lines.append(f"💡 Hint: {self.hint_text}")
            if self.level >= FIX and self.fix_text:
                lines.append(f"🔧 Fix: {self.fix_text}")
            more = _more_help(self)
            if more:
                lines.append(more)
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return self.passed

    def hint(self) -> "Help":
        """The next level of help for this exercise: the hint, then the fix."""
        if self.exercise is not None:
            return hint(self.exercise)
        return _next_help(self, self.level + 1)


class Help(str):
    """Text shown as it is (a str whose repr is itself, so a notebook shows no quotes)."""

    def __repr__(self) -> str:
        return str(self)


def _more_help(verdict: Verdict) -> Optional[str]:
    ref = f'hint("{verdict.exercise}")' if verdict.exercise else ".hint()"
    if verdict.level < HINT and verdict.hint_text:
        return f"   (stuck? {ref} gives a hint)"
    if verdict.answered and verdict.level < FIX and verdict.fix_text:
        return f"   (still stuck? {ref} shows the fix)"
    return None


def _next_help(verdict: Verdict, level: int) -> Help:
    if verdict.passed:
        return Help(f"✅ exercise {verdict.exercise or ''} passed already — nothing to add: "
                    f"{verdict.message}".replace("exercise  ", "exercise "))
    if not verdict.hint_text and not verdict.fix_text:
        return Help("no hint for this one: the message says what to change — "
                    + verdict.message)
    parts = []
    if verdict.hint_text:
        parts.append(f"💡 Hint: {verdict.hint_text}")
    if level >= FIX and verdict.fix_text and verdict.answered:
        parts.append(f"🔧 Fix: {verdict.fix_text}")
    elif verdict.fix_text and verdict.answered:
        ref = f'hint("{verdict.exercise}")' if verdict.exercise else ".hint()"
        parts.append(f"   (still stuck? {ref} again shows the fix)")
    return Help("\n".join(parts))


def unanswered(*values: Any) -> bool:
    """True while a lab's placeholder (``...``) is still in place."""
    return any(v is Ellipsis for v in values)


def missing(what: str, hint: Optional[str] = None) -> Verdict:
    """Not answered yet: ``what`` says what to fill in; ``hint`` how to start."""
    return Verdict(False, what, answered=False, hint_text=hint)


def passed(message: str) -> Verdict:
    return Verdict(True, message)


def failed(message: str, hint: Optional[str] = None, fix: Optional[str] = None) -> Verdict:
    """A wrong answer: ``message`` is what was measured and why it misses — never the fix."""
    return Verdict(False, message, hint_text=hint, fix_text=fix)


# ------------------------------------------------------------------------- argument checks

def is_number(value: Any) -> bool:
    """A real, finite number (not a bool, not NaN, not an infinity)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def whole(value: Any) -> Optional[int]:
    """``value`` as an int if it is a whole number (``3`` or ``3.0``), else None."""
    if not is_number(value) or float(value) != int(value):
        return None
    return int(value)


def first_wrong(*verdicts: Optional[Verdict]) -> Optional[Verdict]:
    """The first verdict that is not None (argument checks return None when all is well).

    Written out because a failed Verdict is falsy: ``check_a() or check_b()`` would
    skip a ❌ from ``check_a``.
    """
    return next((v for v in verdicts if v is not None), None)


def load_answer(name: str, manifest: Any) -> tuple:
    """A manifest answer as ``(documents, None)``, or ``(None, a ❌ verdict saying why not)``.

    Takes what ``Lab.apply`` takes: YAML text, a path under cluster/manifests/,
    a dict or a list of dicts; anything else, or anything that does not load,
    is one ❌ line (an empty string, a directory, bad YAML ...).
    """
    from .. import manifests

    if not isinstance(manifest, (str, dict, list)) or manifest in ("", [], {}):
        return None, failed(f"{name}={describe(manifest)}: expected a manifest — YAML text, a "
                            "path such as 'rolling/web.yaml', a dict or a list of dicts")
    try:
        return manifests.load(manifest), None
    except ReleaseLabError as exc:
        return None, failed(f"this is not a manifest the lab can apply: {exc}")
    except (OSError, ValueError, TypeError) as exc:
        return None, failed(f"{name}={describe(manifest)} cannot be read as a manifest "
                            f"({type(exc).__name__}: {exc})")


def describe(value: Any) -> str:
    """A short repr of a wrong argument for a message (long values cut)."""
    text = repr(value) if not isinstance(value, type) else value.__name__
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Exercise:
    """An exercise of a lab: its id ("01.2"), title, checker and the cells it spans.

    ``cells`` are the ids of the lab notebook's cells that belong to the
    exercise besides the one calling the checker (``releaselab grade`` blames
    a timeout in them on it).
    """

    id: str
    title: str
    checker: str
    module: str
    cells: tuple = ()
    hint: Optional[str] = None
    fix: Optional[str] = None

    @property
    def lab(self) -> str:
        return self.id.split(".")[0]


EXERCISES: dict[str, Exercise] = {}


@dataclass
class _Progress:
    wrong: list = field(default_factory=list)    # distinct wrong messages, in order
    hints: int = 0                               # help level asked for with hint()
    last: Optional[Verdict] = None


_PROGRESS: dict[str, _Progress] = {}
_LOG: list[dict] = []
_SEQ = [0]
_LAST_EXERCISE: list[Optional[str]] = [None]


def exercise(exercise_id: str, title: str, cells: tuple = (),
             hint: Optional[str] = None, fix: Optional[str] = None) -> Callable:
    """Register a checker as exercise ``exercise_id`` and make it safe and recorded.

    ``hint`` is the exercise's own hint: a ❌ or "not answered yet" whose message
    brings no hint of its own gets it (a wrong type, a manifest that does not load).
    ``fix`` likewise is its own fix, for a ❌ that brings none, so ``hint()`` asked
    twice always ends with one.
    """

    def register(fn: Callable) -> Callable:
        EXERCISES[exercise_id] = Exercise(exercise_id, title, fn.__name__, fn.__module__,
                                          tuple(cells), hint, fix)

        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def checker(*args: Any, **kwargs: Any) -> Verdict:
            _record(exercise_id, "started")
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:      # a wrong argument name or count: say which there are
                verdict = failed(f"{fn.__name__}: {exc}; its arguments are "
                                 f"{', '.join(signature.parameters)}")
            else:
                verdict = None
            try:
                verdict = verdict if verdict is not None else fn(*args, **kwargs)
            except ReleaseLabError as exc:
                verdict = failed(f"this answer cannot be run: {exc}")
            except Exception as exc:  # noqa: BLE001 — a checker answers, it never crashes
                verdict = Verdict(False, f"the checker could not judge this answer "
                                  f"({type(exc).__name__}: {exc}); please report it with "
                                  "the answer you gave", internal_error=True)
            if hint and not verdict.passed and not verdict.internal_error \
                    and not verdict.hint_text:
                verdict = replace(verdict, hint_text=hint)
            if fix and verdict.status == FAIL and not verdict.internal_error \
                    and not verdict.fix_text:
                verdict = replace(verdict, fix_text=fix)
            verdict = _escalate(exercise_id, verdict)
            _record(exercise_id, "verdict", verdict)
            return verdict

        checker.exercise = exercise_id
        return checker

    return register


def _escalate(exercise_id: str, verdict: Verdict) -> Verdict:
    progress = _PROGRESS.setdefault(exercise_id, _Progress())
    level = MEASURED
    if verdict.status == FAIL:
        # The first wrong answer gets what was measured, a *different* one after it the
        # hint too; the fix only once hint() asked for it (progress.hints == FIX) for this
        # answer, never by a count of wrong answers: a new wrong answer starts over.  The same answer again gets what it got before
        # (re-running a cell changes nothing), unless hint() was asked.
        if verdict.message not in progress.wrong:
            progress.wrong.append(verdict.message)
            progress.hints = 0      # help asked for the last answer is not asked for this one
        level = max(min(HINT, progress.wrong.index(verdict.message)), progress.hints)
    elif verdict.status == UNANSWERED:
        level = min(HINT, progress.hints)
    verdict = replace(verdict, exercise=exercise_id, level=level)
    progress.last = verdict
    _LAST_EXERCISE[0] = exercise_id
    return verdict


def hint(exercise_id: Optional[str] = None) -> Help:
    """More help for an exercise (the last one checked if none is named): the hint, then the fix.

    The first call shows the hint, the next one the fix (a wrong answer never
    shows the fix by itself).

    >>> hint("01.1")       # doctest: +SKIP
    """
    if exercise_id is None:
        exercise_id = _LAST_EXERCISE[0]
        if exercise_id is None:
            return Help("no exercise has been checked yet in this notebook: run an "
                        "exercise's check first, then ask for a hint")
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        known = ", ".join(sorted(EXERCISES)) or "none loaded"
        return Help(f"no exercise {describe(exercise_id)}: the exercises are {known} "
                    "(as the lab's headings number them, e.g. hint(\"01.2\"))")
    progress = _PROGRESS.get(exercise_id)
    if progress is None or progress.last is None:
        return Help(f"run exercise {exercise_id}'s check cell first "
                    f"({EXERCISES[exercise_id].checker}), then ask for a hint")
    last = progress.last
    if last.passed:
        return _next_help(last, last.level)
    level = min(FIX if last.answered else HINT, max(last.level, progress.hints) + 1)
    progress.hints = level
    return _next_help(last, level)


# ------------------------------------------------------------------------- the grade record

def _record(exercise_id: str, event: str, verdict: Optional[Verdict] = None) -> None:
    _SEQ[0] += 1
    entry = {"seq": _SEQ[0], "exercise": exercise_id, "event": event}
    if verdict is not None:
        entry.update(status=verdict.status, message=verdict.message)
    _LOG.append(entry)
    if len(_LOG) > LOG_LIMIT:
        del _LOG[: len(_LOG) - LOG_LIMIT]


def _export(since: int = 0) -> str:
    """The records after ``since`` as JSON (read by ``releaselab grade`` after every cell)."""
    return json.dumps([entry for entry in _LOG if entry["seq"] > since])


def _reset() -> None:
    """Forget every verdict and every hint given (tests use it; a notebook never needs it)."""
    _PROGRESS.clear()
    _LOG.clear()
    _LAST_EXERCISE[0] = None
