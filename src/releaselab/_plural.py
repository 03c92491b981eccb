"""Number and noun agreement for every message the kit prints: ``1 request``, ``2 requests``.

One helper, so a count that happens to be 1 never reads "1 requests failed"
(or "1 waves of new pods") in a checker's reply, a strategy's result or a
summary.
"""

from __future__ import annotations

from typing import Optional


def plural(n: int, word: str, words: Optional[str] = None) -> str:
    """``n`` and ``word`` agreeing: ``plural(1, "request")`` → "1 request", else "n requests".

    ``words`` for an irregular plural: ``plural(2, "was", "were")`` → "2 were" is not
    meant; use :func:`agree` for a verb.

    >>> plural(1, "request"), plural(0, "request"), plural(3, "time")
    ('1 request', '0 requests', '3 times')
    """
    return f"{n} {word if n == 1 else (words or word + 's')}"


def agree(n: int, singular: str, plural_form: str) -> str:
    """The verb (or any word) that agrees with ``n``: ``agree(1, "was", "were")`` → "was"."""
    return singular if n == 1 else plural_form
