"""Resource quantities (``100m``, ``1.5``, ``129e6``, ``512Mi``, ``1Ti``) by the API server's grammar.

The grammar of k8s.io/apimachinery/pkg/api/resource ``ParseQuantity``::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>

Values are exact decimals (``decimal.Decimal``), as the Go code keeps them
(inf.Dec), so ``1Ti`` or ``1e400`` never overflow a float.  Worked example:
``129e6`` is 129 * 10**6 = 129,000,000 bytes = 123.02 MiB, so a memory
request of ``129e6`` counts as 123 MiB against a node.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from typing import Union

# The three errors ParseQuantity returns, word for word (resource/quantity.go).
ERR_FORMAT = ("quantities must match the regular expression "
              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

_SHAPE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[eE][+-]?[0-9]+$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6),
            "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
# Exponents beyond this are accepted by the grammar but make no sense for a
# pod; they are capped so Decimal arithmetic stays cheap (1e999999999 would not).
_MAX_EXPONENT = 100


class QuantityError(ValueError):
    """A string ParseQuantity refuses; the message is the Go error text."""


def parse_quantity(value: Union[str, int, float]) -> Decimal:
    """The exact value of a quantity, or QuantityError with the API server's message."""
    if isinstance(value, bool):
        raise QuantityError(ERR_FORMAT)
    text = value if isinstance(value, str) else _number_text(value)
    text = text.strip()                  # Quantity.UnmarshalJSON trims spaces
    match = _SHAPE.match(text)
    if not match:
        raise QuantityError(ERR_FORMAT)
    number, suffix = match.groups()
    if not _NUMBER.match(number):
        raise QuantityError(ERR_NUMERIC)
    with localcontext() as ctx:
        ctx.prec = 60
        try:
            base = Decimal(number if not number.endswith(".") else number[:-1] or "0")
        except InvalidOperation:
            raise QuantityError(ERR_NUMERIC) from None
        if suffix in _BINARY:
            return base * _BINARY[suffix]
        if suffix in _DECIMAL:
            return base * _DECIMAL[suffix]
        if _EXPONENT.match(suffix):
            exponent = max(-_MAX_EXPONENT, min(_MAX_EXPONENT, int(suffix[1:])))
            return base.scaleb(exponent)
    raise QuantityError(ERR_SUFFIX)


def _number_text(value: Union[int, float]) -> str:
    # A YAML number arrives as int or float; JSON carries it as its decimal text.
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "x"
    return str(value)


def _parsed(value, what: str, example: str) -> Decimal:
    from .errors import ManifestError

    try:
        return parse_quantity(value)
    except QuantityError as exc:
        raise ManifestError(f"resources: {what} {value!r} is not a quantity (e.g. {example}): "
                            f"{exc}") from None


def parse_cpu(value: Union[str, int, float]) -> int:
    """Millicores, rounded up as ``Quantity.MilliValue`` does (``0.0001`` is 1m)."""
    q = _parsed(value, "cpu", "100m or 0.5")
    return int((q * 1000).to_integral_value(rounding=ROUND_CEILING))


def parse_memory(value: Union[str, int, float]) -> int:
    """Whole MiB (bytes rounded up as ``Quantity.Value`` does, then floored to MiB)."""
    q = _parsed(value, "memory", "64Mi or 1Gi")
    return int(q.to_integral_value(rounding=ROUND_CEILING)) // 2**20
