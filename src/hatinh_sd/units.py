"""A small parser for the model's unit strings, for dimensional checks.

Units are products and quotients of named units with optional integer powers,
for example ``bnVND/(kperson*Year)`` or ``Mt/(Year*Year)``. ``Dmnl`` and ``1``
are dimensionless. A unit is parsed into a mapping ``name -> exponent``.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["UnitError", "divide", "parse_units"]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|\^)|([*/()]))")
DIMENSIONLESS = {"Dmnl", "dmnl", "dimensionless"}


class UnitError(ValueError):
    """A unit string that cannot be parsed."""


def parse_units(text: str) -> dict[str, int]:
    """Parse a unit string into ``{unit: exponent}`` (dimensionless -> ``{}``).

    Examples
    --------
    >>> parse_units("bnVND/(kperson*Year)")
    {'bnVND': 1, 'kperson': -1, 'Year': -1}
    >>> parse_units("Dmnl")
    {}
    """
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UnitError(f"cannot parse units {text!r} at {text[pos:]!r}")
        tokens.append(m.group(m.lastindex or 0))
        pos = m.end()
    if not tokens:
        raise UnitError("empty units")
    result, i = _expr(tokens, 0)
    if i != len(tokens):
        raise UnitError(f"cannot parse units {text!r}")
    return {k: v for k, v in result.items() if v != 0}


def _expr(tokens: list[str], i: int) -> tuple[Counter, int]:
    total, i = _factor(tokens, i)
    while i < len(tokens) and tokens[i] in ("*", "/"):
        op = tokens[i]
        rhs, i = _factor(tokens, i + 1)
        for k, v in rhs.items():
            total[k] += v if op == "*" else -v
    return total, i


def _factor(tokens: list[str], i: int) -> tuple[Counter, int]:
    if i >= len(tokens):
        raise UnitError("unexpected end of units")
    tok = tokens[i]
    if tok == "(":
        inner, i = _expr(tokens, i + 1)
        if i >= len(tokens) or tokens[i] != ")":
            raise UnitError("unbalanced parentheses in units")
        i += 1
    elif re.fullmatch(r"\d+(?:\.\d+)?", tok):
        inner, i = Counter(), i + 1  # pure numbers (1/Year) carry no dimension
    elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
        inner, i = (Counter() if tok in DIMENSIONLESS else Counter({tok: 1})), i + 1
    else:
        raise UnitError(f"unexpected {tok!r} in units")
    if i < len(tokens) and tokens[i] in ("^", "**"):
        power = int(tokens[i + 1])
        inner = Counter({k: v * power for k, v in inner.items()})
        i += 2
    return inner, i


def divide(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Units of ``a / b``."""
    out = Counter(a)
    for k, v in b.items():
        out[k] -= v
    return {k: v for k, v in out.items() if v != 0}
