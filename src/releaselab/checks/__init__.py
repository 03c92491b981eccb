"""Exercise checkers for the labs, one module per lab.

Each returns a :class:`Verdict` that prints ✅ with what was measured, ❌ with
what was measured and why it misses (never the fix), or "not answered yet"
while the lab's ``...`` placeholder is in place — so a lab with nothing filled
in still runs top to bottom.  ``hint("01.2")`` (or ``verdict.hint()``) gives a
hint for the exercise's last answer; asking again gives the fix.  The rules a
checker follows are in :mod:`releaselab.checks._core`.
"""

from ._core import EXERCISES, Verdict, hint, unanswered

__all__ = ["EXERCISES", "Verdict", "hint", "unanswered"]
