"""The accepted range of every numeric and named argument of :class:`releaselab.Lab`.

The facade checks arguments here, before any backend sees them, so the
simulator and the kind backend refuse the same calls with the same line:
``UsageError: wait(seconds=nan): must be a number of seconds from 0 to 3600``.
Nothing may hang the kernel or surface later inside a ``wait()``: a NaN
compares false with everything (``nan < 0`` and ``nan > 3600`` are both
False), so a plain range test lets it through; ``math.isfinite`` does not.

Why these bounds:

- :data:`MAX_WAIT_S` — one call's wait, virtual or real.  On the simulator an
  hour of virtual time at 100 requests/s is 360,000 requests, a few seconds
  of CPU; ``wait(1e9)`` would be 10^11 requests.  Longer waits are loops of
  shorter ones, and a rollout's own deadline (``progressDeadlineSeconds``,
  600 s by default) ends a stuck one long before.
- :data:`MAX_RPS` — the prober opens a new TCP connection per request; at
  1,000/s with a 1 s timeout up to ~1,000 sockets are open at once, near a
  default ``ulimit -n`` of 1,024.  The labs use 20 to 200.
- :data:`MAX_CLIENT_TIMEOUT_S` — a client that waits longer than a minute for
  an answer measures nothing a lab asks about.
- :data:`MAX_REPLICAS` — what the simulator scales to in its benchmark
  (Kubernetes itself takes any int32, but no kind cluster on a laptop runs
  that many pods).
- revisions are int64 in Kubernetes (``deploymentutil.Revision`` parses the
  ``deployment.kubernetes.io/revision`` annotation with ``strconv.ParseInt(v, 10, 64)``).
"""

from __future__ import annotations

import math
from typing import Optional

from .errors import UsageError

MAX_WAIT_S = 3600.0
MAX_RPS = 1000.0
MAX_CLIENT_TIMEOUT_S = 60.0
MAX_REPLICAS = 100_000
#: Kubernetes' largest supported cluster ("Considerations for large clusters": 5,000 nodes).
MAX_WORKERS = 5000
MAX_REVISION = 2**63 - 1


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seconds(call: str, name: str, value, *, low: float = 0.0, high: float = MAX_WAIT_S,
            low_open: bool = False, why: str = "") -> float:
    """``value`` as float seconds in [low, high] (or (low, high]), else a one-line UsageError."""
    low_text = f"more than {low:g}" if low_open else f"from {low:g}"
    if not _is_number(value) or not math.isfinite(value) or value > high or \
            (value <= low if low_open else value < low):
        raise UsageError(f"{call}({name}={value!r}): must be a number of seconds {low_text} "
                         f"to {high:g}{why}")
    return float(value)


def rate(call: str, value) -> float:
    """A request rate in (0, MAX_RPS]."""
    if not _is_number(value) or not math.isfinite(value) or not 0 < value <= MAX_RPS:
        raise UsageError(f"{call}(rps={value!r}): must be a number of requests per second "
                         f"more than 0 and at most {MAX_RPS:g}")
    return float(value)


def whole(call: str, name: str, value, *, low: int, high: int, what: str) -> int:
    """A whole number in [low, high] (``True`` is not a number here, as in Kubernetes)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(f"{call}({name}={value!r}): must be a whole number from {low} to "
                         f"{high} ({what})")
    return value


def name(call: str, value, what: str = "the Deployment's name") -> str:
    """An object name: a non-empty string (the backend then says whether it exists)."""
    if not isinstance(value, str) or not value:
        raise UsageError(f"{call}({value!r}): pass {what} as a string, e.g. {call}('web')")
    return value


def text(call: str, param: str, value, example: str) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{call}({param}={value!r}): must be a non-empty string, e.g. {example}")
    return value


def flag(call: str, param: str, value) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{call}({param}={value!r}): must be True or False")
    return value


def selector(call: str, value: Optional[dict]) -> Optional[dict]:
    """A label selector given as ``{"app": "web"}``: string keys and string values."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and isinstance(v, str)
                                              for k, v in value.items()):
        raise UsageError(f"{call}(selector={value!r}): a selector is a dict of label names to "
                         f"string values, e.g. {{'app': 'web'}}")
    return value


def checked_call(fn):
    """``fn`` with its call checked against its signature first: a wrong argument name, a
    missing argument or one too many is one UsageError line naming the arguments there are.

    Python's own ``TypeError: canary() got an unexpected keyword argument 'pre_promotion'``
    is a traceback in a notebook; this says what to fix instead::

        UsageError: canary(pre_promotion=...): canary() got an unexpected keyword argument
        'pre_promotion'; its arguments are lab, image, steps, analysis, routing, ...
    """
    import functools
    import inspect

    signature = inspect.signature(fn)
    params = [p for p in signature.parameters if p != "self"]
    call = fn.__qualname__.replace(".__init__", "")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            given = ", ".join(f"{k}=..." for k in kwargs)
            raise UsageError(f"{call}({given}): {exc}; its arguments are "
                             f"{', '.join(params)}") from None
        return fn(*args, **kwargs)

    wrapper.__signature__ = signature
    return wrapper


def check_calls(cls):
    """Class decorator: the constructor and every public method of ``cls`` get
    :func:`checked_call`, so ``lab.traffic(service="web")`` is one UsageError line
    naming ``traffic``'s arguments, not Python's TypeError traceback."""
    import inspect

    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (name == "__init__" or not name.startswith("_")):
            setattr(cls, name, checked_call(member))
    return cls


def optional_number(call: str, param: str, value, *, low: float, high: float,
                    low_open: bool = False, what: str = "") -> Optional[float]:
    """None, or a finite number in [low, high] (or (low, high]); else one UsageError line."""
    if value is None:
        return None
    low_text = f"more than {low:g}" if low_open else f"from {low:g}"
    if not _is_number(value) or not math.isfinite(value) or value > high or \
            (value <= low if low_open else value < low):
        raise UsageError(f"{call}({param}={value!r}): must be a number {low_text} to {high:g}"
                         + (f" ({what})" if what else ""))
    return value
