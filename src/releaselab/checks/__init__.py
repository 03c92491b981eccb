"""Exercise checkers for the labs, one module per lab.

Each returns a :class:`Verdict` that prints as one line: ✅ with what was
measured, ❌ with why the answer is wrong (with the numbers), or
"not answered yet" while the lab's ``...`` placeholder is in place — so a
lab with nothing filled in still runs top to bottom.
"""

from ._core import Verdict, unanswered

__all__ = ["Verdict", "unanswered"]
