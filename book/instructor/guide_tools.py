"""What the lab guides (book/instructor/NN-*.md) share; they import it from their own folder.

A guide's "common mistakes" cells give a lab's checker a wrong answer and show
what it answers. A checker escalates its help per exercise — the first wrong
answer gets what was measured, ``hint()`` or the next *different* wrong
answer adds a hint, asking again the fix, which never comes by itself
(``releaselab.checks._core``) — so a
guide that shows several mistakes of one exercise in a row would show each
one at a different level. :func:`answers` shows every mistake as a first
wrong answer, then the hint and the fix the checker holds back.
"""

import dataclasses


def answers(verdict) -> None:
    """Print a verdict as a first wrong answer gets it, then what hint() and hint() again add."""
    first = dataclasses.replace(verdict, level=0) if hasattr(verdict, "level") else verdict
    help_ = [("hint() adds: 💡 Hint: ", getattr(verdict, "hint_text", None)),
             ("hint() again adds: 🔧 Fix: ", getattr(verdict, "fix_text", None))]
    print("\n".join([repr(first)] + [label + text for label, text in help_ if text]))
