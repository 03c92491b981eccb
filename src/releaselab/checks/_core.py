"""What every exercise checker shares: "not answered yet" and the verdict it prints.

A checker judges the reader's *run*: it simulates their configuration (or
reads the Timeline of what they ran) and checks what happened.  So any
correct answer passes, and a wrong one is told why, with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def unanswered(*values: Any) -> bool:
    """True while a lab's placeholder (``...``) is still in place."""
    return any(v is Ellipsis for v in values)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    answered: bool = True

    def __repr__(self) -> str:
        if not self.answered:
            return f"… not answered yet: {self.message}"
        return ("✅ " if self.passed else "❌ ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def missing(what: str) -> Verdict:
    return Verdict(False, what, answered=False)


def passed(message: str) -> Verdict:
    return Verdict(True, message)


def failed(message: str) -> Verdict:
    return Verdict(False, message)
