"""A small parser for the model's unit strings, for dimensional checks.

Units are products and quotients of named units with optional integer powers,
for example ``bnVND/(kperson*Year)`` or ``Mt/(Year*Year)``. ``Dmnl`` and ``1``
are dimensionless. A unit is parsed into a mapping ``name -> exponent``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import warnings
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "UnitError",
    "UnitIssue",
    "UDUNITS_ATOMS",
    "UDUNITS_EXTRA_ATTRS",
    "check_model_units",
    "divide",
    "format_units",
    "inline_initials",
    "parse_units",
    "udunits",
]

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


# ----------------------------------------------------------------- UDUNITS (CF)
#
# netCDF readers (CF conventions) expect units that UDUNITS parses. The model's
# unit atoms are mapped to a power of ten times UDUNITS units; what UDUNITS has
# no unit for (money, persons, what a mass is of) goes into extra attributes.


@dataclasses.dataclass(frozen=True)
class _Atom:
    """One unit atom of the ``.mdl``: ``10**power`` times the UDUNITS ``base`` units."""

    power: int
    base: tuple[tuple[str, int], ...] = ()
    currency: str = ""
    price_basis: str = ""
    counted: str = ""  # what a count or mass is of, for the ``units_note``


#: Every unit atom of the model, in UDUNITS terms. ``Year`` is UDUNITS' ``year``
#: (a rate per year; model time itself is encoded by :mod:`hatinh_sd.results`).
UDUNITS_ATOMS: dict[str, _Atom] = {
    "Year": _Atom(0, (("year", 1),)),
    "h": _Atom(0, (("h", 1),)),
    "person": _Atom(0, counted="persons"),
    "kperson": _Atom(3, counted="persons"),
    "per10000": _Atom(-4),
    "percent": _Atom(0, (("percent", 1),)),
    "bnVND": _Atom(9, currency="VND", price_basis="current prices"),
    "bnVND2010": _Atom(9, currency="VND", price_basis="constant 2010 prices"),
    "MUSD": _Atom(6, currency="USD", price_basis="current prices"),
    "Mt": _Atom(9, (("kg", 1),)),
    "MtCO2": _Atom(9, (("kg", 1),), counted="CO2"),
    "ha": _Atom(0, (("hectare", 1),)),
    "MW": _Atom(6, (("W", 1),)),
    "GWh": _Atom(9, (("W", 1), ("h", 1))),
}

#: Words of the ``units_note`` for what is counted, in a numerator and in a denominator.
_COUNTED = {
    "persons": ("number of persons", "per person"),
    "CO2": ("mass of CO2", "per mass of CO2"),
}

#: Attributes :func:`udunits` may add beside ``units``.
UDUNITS_EXTRA_ATTRS = ("currency", "price_basis", "units_note")


def _numbers(text: str) -> list[str]:
    """The number literals of a unit string (``1`` in ``1/Year``)."""
    return [m.group(1) for m in _TOKEN.finditer(text) if m.group(1)]


def _power_text(name: str, power: int) -> str:
    return name if power == 1 else f"{name}{power}"


def udunits(vensim_unit: str) -> tuple[str, dict[str, str]]:
    """A unit of the ``.mdl`` as a UDUNITS string, and the attributes UDUNITS cannot say.

    Each atom is a power of ten times UDUNITS units (``kperson`` -> 1000,
    ``bnVND`` -> 1e9 with ``currency`` VND, ``Mt`` -> 1e9 kg, ``GWh`` -> 1e9 W h,
    ``per10000`` -> 1e-4, ...); products, quotients and powers are composed into
    one string: the factor, a space, then the units joined by ``.`` with their
    exponents (``.`` rather than a space, which UDUNITS misreads before
    ``percent``). The extra attributes are ``currency`` (``VND``, ``USD``,
    ``VND per USD``, ``per VND``), ``price_basis`` (``current prices``,
    ``constant 2010 prices``) and ``units_note`` (what a count or a mass is of:
    persons, CO2); each only when it applies.

    Raises
    ------
    UnitError
        For a unit that does not parse, an unknown atom or a number other than 1.

    Examples
    --------
    >>> udunits("bnVND/(kperson*Year)")
    ('1e+06 year-1', {'currency': 'VND', 'price_basis': 'current prices', 'units_note': 'per person'})
    >>> udunits("Dmnl")
    ('1', {})
    """
    parsed = parse_units(vensim_unit)
    odd = [n for n in _numbers(vensim_unit) if float(n) != 1]
    if odd:
        raise UnitError(f"number {odd[0]} in units {vensim_unit!r}: only 1 is understood")
    power = 0
    base: Counter = Counter()
    currency: Counter = Counter()
    basis: Counter = Counter()
    counted: Counter = Counter()
    for name, exp in parsed.items():
        atom = UDUNITS_ATOMS.get(name)
        if atom is None:
            raise UnitError(f"no UDUNITS equivalent for unit {name!r} (in {vensim_unit!r})")
        power += atom.power * exp
        for unit, e in atom.base:
            base[unit] += e * exp
        if atom.currency:
            currency[atom.currency] += exp
        if atom.price_basis:
            basis[atom.price_basis] += exp
        if atom.counted:
            counted[atom.counted] += exp
    terms = ".".join(_power_text(u, e) for u, e in base.items() if e != 0)
    factor = f"{10.0**power:g}"
    if not terms:
        text = factor
    else:
        text = terms if power == 0 else f"{factor} {terms}"
    extra: dict[str, str] = {}
    top = " ".join(_power_text(c, e) for c, e in currency.items() if e > 0)
    bottom = " ".join(_power_text(c, -e) for c, e in currency.items() if e < 0)
    if top or bottom:
        extra["currency"] = " per ".join(p for p in (top, bottom) if p) if top else f"per {bottom}"
    bases = [b for b, e in basis.items() if e != 0]
    if bases:
        extra["price_basis"] = " over ".join(
            sorted(bases, key=lambda b: -basis[b])  # the numerator's basis first
        )
    notes = [_COUNTED[c][0 if e > 0 else 1] for c, e in counted.items() if e != 0]
    if notes:
        extra["units_note"] = "; ".join(notes)
    return text, extra


# ----------------------------------------------------------------- equation checker
#
# Every equation of the .mdl is parsed with PySD's Vensim parser, and the units
# of its right-hand side are composed from the declared units of the variables
# it references, then compared with the element's declared units. The rules are
# listed in ``check_model_units``.

#: Names of Vensim's time variables (PySD's normalised names); all in Year.
TIME_NAMES = ("time", "initial_time", "final_time", "time_step", "saveper")

_YEAR: dict[str, int] = {"Year": 1}


class _Zero:
    """The literal 0, which matches any units (``MAX(0, x)``, ``x > 0``)."""

    def __repr__(self) -> str:
        return "ZERO"


ZERO = _Zero()

#: Units of a composed expression: a unit mapping, ``ZERO`` for the literal 0,
#: or ``None`` when unknown (an issue was already reported below it).
Composed = dict[str, int] | _Zero | None


@dataclasses.dataclass(frozen=True)
class UnitIssue:
    """One problem found in one equation of the model.

    Attributes
    ----------
    element : str
        The element's Vensim name.
    kind : str
        ``mismatch`` (right-hand side against the declared units),
        ``inconsistent`` (operands that must have equal units do not),
        ``hidden-constant`` (a power-of-ten literal as a factor or divisor),
        ``inline-initial`` (``INITIAL`` inside an expression),
        ``misplaced`` (``INTEG`` inside an expression), ``bad-units`` (declared
        units missing or unparsable) or ``unsupported`` (a construct the checker
        cannot handle, so the equation is not fully checked).
    message : str
        What is wrong, in words.
    expected, found : str or None
        The units that were expected and those found, where relevant.
    expression : str or None
        The (sub-)expression concerned, written back in Vensim syntax.
    """

    element: str
    kind: str
    message: str
    expected: str | None = None
    found: str | None = None
    expression: str | None = None

    def __str__(self) -> str:
        text = f"{self.element}: [{self.kind}] {self.message}"
        if self.expected is not None or self.found is not None:
            text += f" (expected {self.expected}, found {self.found})"
        if self.expression is not None:
            text += f" in `{self.expression}`"
        return text


def format_units(units: Mapping[str, int]) -> str:
    """Write a unit mapping back as a string (``{}`` -> ``Dmnl``).

    >>> format_units({"bnVND": 1, "kperson": -1, "Year": -1})
    'bnVND/(Year*kperson)'
    """
    if not units:
        return "Dmnl"

    def term(name: str, power: int) -> str:
        return name if power == 1 else f"{name}^{power}"

    num = [term(k, v) for k, v in sorted(units.items()) if v > 0]
    den = [term(k, -v) for k, v in sorted(units.items()) if v < 0]
    top = "*".join(num) if num else "1"
    if not den:
        return top
    bottom = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
    return f"{top}/{bottom}"


def _show_units(units: Composed) -> str:
    if units is ZERO:
        return "0 (any units)"
    if units is None:
        return "unknown"
    assert isinstance(units, dict)
    return format_units(units)


def _norm(name: str) -> str:
    """PySD's reference form of a Vensim name (case- and space/underscore-blind)."""
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def _is_number(node: Any) -> bool:
    return isinstance(node, int | float | np.integer | np.floating) and not isinstance(node, bool)


def _is_power_of_ten(value: float) -> bool:
    value = abs(float(value))
    if value == 0 or not math.isfinite(value):
        return False
    exponent = round(math.log10(value))
    return math.isclose(value, 10.0**exponent, rel_tol=1e-12)


def _same(a: Composed, b: Composed) -> bool:
    if a is None or b is None or a is ZERO or b is ZERO:
        return True
    return a == b


def _parse_abstract(mdl_path: Path | str) -> Any:
    """PySD's abstract model of a .mdl file (parsed, not translated).

    Parses are cached by the file's content, so checking a model twice (units,
    then inline INITIALs) parses it once; the result must not be modified.
    """
    path = Path(mdl_path)
    if not path.exists():
        raise FileNotFoundError(path)
    key = (str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest())
    if key in _PARSED:
        return _PARSED[key]
    from pysd.translators.vensim.vensim_file import VensimFile

    vf = VensimFile(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vf.parse()
        abstract = vf.get_abstract_model()
    # cache only if the file did not change while it was parsed
    if hashlib.sha256(path.read_bytes()).hexdigest() == key[1]:
        if len(_PARSED) >= 4:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = abstract
    return abstract


_PARSED: dict[tuple[str, str], Any] = {}


# Precedence for writing expressions back (higher binds tighter).
_PREC = {":OR:": 0, ":AND:": 0, "=": 1, "<>": 1, "<": 1, "<=": 1, ">": 1, ">=": 1}
_PREC.update({"+": 2, "-": 2, "*": 3, "/": 3, "^": 4})


class _UnitChecker:
    """Compose the units of every equation of one model section."""

    def __init__(self, elements: list[Any]) -> None:
        self.names: dict[str, str] = {}  # normalised name -> Vensim name
        self.declared: dict[str, dict[str, int] | None] = {}
        self.lookups: set[str] = set()
        self.issues: list[UnitIssue] = []
        self.element = ""
        for element in elements:
            key = _norm(element.name)
            self.names[key] = element.name
            try:
                self.declared[key] = parse_units(element.units or "")
            except UnitError:
                self.declared[key] = None
            if any(type(c.ast).__name__ == "LookupsStructure" for c in element.components):
                self.lookups.add(key)

    # ------------------------------------------------------------ reporting
    def issue(self, kind: str, message: str, node: Any = None, **units: Composed) -> None:
        shown = {k: _show_units(v) for k, v in units.items()}
        self.issues.append(
            UnitIssue(
                self.element,
                kind,
                message,
                expected=shown.get("expected"),
                found=shown.get("found"),
                expression=None if node is None else self.show(node),
            )
        )

    def show(self, node: Any, parent: int = -1) -> str:
        """Write an expression back in Vensim syntax, with Vensim names."""
        kind = type(node).__name__
        if _is_number(node):
            return format(float(node), "g") if isinstance(node, float | np.floating) else str(node)
        if kind == "ReferenceStructure":
            name = self.names.get(_norm(node.reference))
            if name is None:
                name = "Time" if node.reference == "time" else node.reference.replace("_", " ")
            if node.subscripts is not None:
                name += "[" + ",".join(node.subscripts.subscripts) + "]"
            return name
        if kind in ("ArithmeticStructure", "LogicStructure"):
            ops = list(node.operators)
            if ops in (["negative"], [":NOT:"]):
                prefix = "-" if ops == ["negative"] else ":NOT: "
                return prefix + self.show(node.arguments[0], 5)
            prec = min(_PREC.get(op, 0) for op in ops)
            parts = [self.show(node.arguments[0], prec)]
            for op, arg in zip(ops, node.arguments[1:]):
                parts.append(f" {op} " + self.show(arg, prec + 1))
            text = "".join(parts)
            return f"({text})" if prec < parent else text
        if kind == "CallStructure":
            ref = node.function.reference
            name = self.names.get(_norm(ref), ref.upper().replace("_", " "))
            return f"{name}(" + ", ".join(self.show(a) for a in node.arguments) + ")"
        fields = {
            "IntegStructure": ("INTEG", ("flow", "initial")),
            "InitialStructure": ("INITIAL", ("initial",)),
            "SmoothStructure": ("SMOOTH", ("input", "smooth_time", "initial")),
            "SmoothNStructure": ("SMOOTH N", ("input", "smooth_time", "initial", "order")),
            "DelayStructure": ("DELAY", ("input", "delay_time", "initial")),
            "DelayNStructure": ("DELAY N", ("input", "delay_time", "initial", "order")),
            "DelayFixedStructure": ("DELAY FIXED", ("input", "delay_time", "initial")),
            "TrendStructure": ("TREND", ("input", "average_time", "initial_trend")),
            "SampleIfTrueStructure": ("SAMPLE IF TRUE", ("condition", "input", "initial")),
        }
        if kind in fields:
            title, names = fields[kind]
            args = ", ".join(self.show(getattr(node, f)) for f in names)
            return f"{title}({args})"
        if kind == "InlineLookupsStructure":
            return f"WITH LOOKUP({self.show(node.argument)}, (...))"
        return kind

    # ------------------------------------------------------------ elements
    def check_element(self, element: Any) -> None:
        self.element = element.name
        key = _norm(element.name)
        declared = self.declared[key]
        if not (element.units or "").strip():
            self.issue("bad-units", "no units declared")
        elif declared is None:
            self.issue("bad-units", f"declared units {element.units!r} cannot be parsed")
        elif key in TIME_NAMES and declared != _YEAR:
            self.issue(
                "bad-units", "a time setting must be in Year", expected=_YEAR, found=declared
            )
        for component in element.components:
            self.check_component(component.ast, declared)

    def check_component(self, ast: Any, declared: dict[str, int] | None) -> None:
        kind = type(ast).__name__
        self.find_misplaced(ast, root=True)
        if _is_number(ast):
            # a constant: a literal as the whole right-hand side takes the declared units
            return
        if kind in (
            "LookupsStructure",
            "DataStructure",
            "GetLookupsStructure",
            "GetDataStructure",
            "GetConstantsStructure",
        ):
            return  # tables and data take the declared units; nothing to compose
        if kind == "IntegStructure":
            stock = declared
            flow_units = None if stock is None else divide(stock, _YEAR)
            found = self.compose(ast.flow)
            if not _same(flow_units, found):
                self.issue(
                    "mismatch",
                    "the INTEG rate must have the stock's units per Year",
                    ast.flow,
                    expected=flow_units,
                    found=found,
                )
            found = self.compose(ast.initial)
            if not _same(stock, found):
                self.issue(
                    "mismatch",
                    "the INTEG initial value must have the stock's units",
                    ast.initial,
                    expected=stock,
                    found=found,
                )
            return
        if kind == "InlineLookupsStructure":
            self.compose(ast.argument)  # the table returns the declared units
            return
        found = self.compose(ast)
        if not _same(declared, found):
            self.issue(
                "mismatch",
                "right-hand side units differ from the declared units",
                ast,
                expected=declared,
                found=found,
            )

    def find_misplaced(self, node: Any, root: bool) -> None:
        """Report INITIAL and INTEG that are not the whole right-hand side."""
        kind = type(node).__name__
        if not root and kind == "InitialStructure":
            self.issue(
                "inline-initial",
                "INITIAL inside an expression: give the initial value its own variable",
                node,
            )
        if not root and kind == "IntegStructure":
            self.issue("misplaced", "INTEG must be the whole right-hand side", node)
        for child in _children(node):
            self.find_misplaced(child, root=False)

    # ------------------------------------------------------------ composition
    def compose(self, node: Any) -> Composed:
        """Units of an expression, reporting inconsistencies found inside it."""
        kind = type(node).__name__
        if isinstance(node, _Known):
            return node.units
        if _is_number(node):
            return ZERO if float(node) == 0 else {}
        if kind == "ReferenceStructure":
            return self.reference(node)
        if kind == "ArithmeticStructure":
            ops = list(node.operators)
            args = list(node.arguments)
            if ops == ["negative"]:
                return self.compose(args[0])
            if set(ops) <= {"+", "-"}:
                return self.equal(node, args, f"operands of {'/'.join(sorted(set(ops)))}")
            if set(ops) <= {"*", "/"}:
                return self.product(node, ops, args)
            if set(ops) == {"^"}:
                result = self.compose(args[0])
                for arg in args[1:]:
                    result = self.power(node, result, arg)
                return result
            self.issue("unsupported", f"operators {ops} are not supported", node)
            return None
        if kind == "LogicStructure":
            ops = list(node.operators)
            args = list(node.arguments)
            if set(ops) <= {":AND:", ":OR:", ":NOT:"}:
                for arg in args:
                    self.dimensionless(arg, f"an operand of {ops[0]}")
                return {}
            if set(ops) <= {"=", "<>", "<", "<=", ">", ">="}:
                self.equal(node, args, "the two sides of a comparison")
                return {}
            self.issue("unsupported", f"operators {ops} are not supported", node)
            return None
        if kind == "CallStructure":
            return self.call(node)
        if kind == "InitialStructure":
            return self.compose(node.initial)
        if kind in ("SmoothStructure", "SmoothNStructure", "DelayStructure", "DelayNStructure"):
            delay = node.smooth_time if kind.startswith("Smooth") else node.delay_time
            result = self.equal(node, [node.input, node.initial], "input and initial value")
            self.expect(delay, _YEAR, "the delay or smoothing time")
            if kind.endswith("NStructure"):
                self.dimensionless(node.order, "the order")
            return result
        if kind == "DelayFixedStructure":
            result = self.equal(node, [node.input, node.initial], "input and initial value")
            self.expect(node.delay_time, _YEAR, "the delay time")
            return result
        if kind == "TrendStructure":
            self.compose(node.input)
            self.expect(node.average_time, _YEAR, "the averaging time")
            self.expect(node.initial_trend, {"Year": -1}, "the initial trend")
            return {"Year": -1}
        if kind == "SampleIfTrueStructure":
            self.dimensionless(node.condition, "the condition")
            return self.equal(node, [node.input, node.initial], "input and initial value")
        if kind == "InlineLookupsStructure":
            self.compose(node.argument)
            return {}  # a table inside an expression: dimensionless output
        if kind == "IntegStructure":
            return None  # reported by find_misplaced
        self.issue("unsupported", f"{kind} is not supported by the unit checker", node)
        return None

    def reference(self, node: Any) -> Composed:
        key = _norm(node.reference)
        if key in TIME_NAMES:
            return dict(_YEAR)
        if key not in self.declared:
            self.issue("unsupported", f"unknown variable {node.reference!r}", node)
            return None
        if key in self.lookups:
            self.issue("unsupported", "a lookup table referenced without an argument", node)
            return None
        return self.declared[key]

    def equal(self, node: Any, args: list[Any], what: str) -> Composed:
        """Units of operands that must be equal (``+``, ``-``, MIN, MAX, comparisons)."""
        composed = [self.compose(a) for a in args]
        if any(c is None for c in composed):
            return None
        known = [(a, c) for a, c in zip(args, composed) if c is not ZERO]
        if not known:
            return ZERO
        first = known[0][1]
        for _arg, units in known[1:]:
            if units != first:
                literal = [a for a, _ in known if _is_number(a)]
                note = (
                    " (a literal number is dimensionless: use a named constant)" if literal else ""
                )
                self.issue(
                    "inconsistent",
                    f"{what} have different units{note}",
                    node,
                    expected=first,
                    found=units,
                )
                return None
        return first

    def product(self, node: Any, ops: list[str], args: list[Any]) -> Composed:
        for i, arg in enumerate(args):
            if not _is_number(arg) or not _is_power_of_ten(float(arg)):
                continue
            if i == 0 and ops[0] == "/" and float(arg) == 1:
                continue  # 1 / x is a reciprocal, not a unit factor
            role = "divisor" if i > 0 and ops[i - 1] == "/" else "factor"
            self.issue(
                "hidden-constant",
                f"literal {self.show(arg)} as a {role} hides a unit conversion: "
                "use a named constant with units",
                node,
            )
        composed = [self.compose(a) for a in args]
        if any(c is None for c in composed):
            return None
        if composed[0] is ZERO or any(c is ZERO for op, c in zip(ops, composed[1:]) if op == "*"):
            return ZERO
        total: Counter = Counter()
        for op, units in zip(["*"] + ops, composed):
            if units is ZERO:  # division by a literal 0
                self.issue("inconsistent", "division by the literal 0", node)
                return None
            assert isinstance(units, dict)
            for k, v in units.items():
                total[k] += v if op == "*" else -v
        return {k: v for k, v in total.items() if v != 0}

    def power(self, node: Any, base: Composed, exponent: Any) -> Composed:
        exp_units = self.compose(exponent)
        if exp_units is not None and exp_units is not ZERO and exp_units != {}:
            self.issue(
                "inconsistent",
                "an exponent must be dimensionless",
                node,
                expected={},
                found=exp_units,
            )
            return None
        if base is None or base is ZERO or base == {}:
            return base
        assert isinstance(base, dict)
        if _is_number(exponent) and float(exponent).is_integer():
            n = int(float(exponent))
            return {k: v * n for k, v in base.items() if v * n != 0}
        self.issue(
            "inconsistent",
            "a base with units needs an integer literal exponent",
            node,
            expected={},
            found=base,
        )
        return None

    def expect(self, node: Any, units: dict[str, int], what: str) -> None:
        found = self.compose(node)
        if not _same(units, found):
            self.issue(
                "inconsistent",
                f"{what} must be in {format_units(units)}",
                node,
                expected=units,
                found=found,
            )

    def dimensionless(self, node: Any, what: str) -> None:
        self.expect(node, {}, what)

    def call(self, node: Any) -> Composed:
        name = _norm(node.function.reference)
        args = list(node.arguments)
        n = len(args)

        def arity(*allowed: int) -> bool:
            if n in allowed:
                return True
            self.issue("unsupported", f"{name.upper()} with {n} arguments", node)
            return False

        if name in self.lookups:
            if arity(1):
                self.compose(args[0])
                return self.declared[name]
            return None
        if name in ("min", "max", "modulo", "quantum"):
            return self.equal(node, args, f"the arguments of {name.upper()}") if arity(2) else None
        if name == "if_then_else":
            if not arity(3):
                return None
            self.dimensionless(args[0], "the condition")
            return self.equal(node, args[1:], "the two branches of IF THEN ELSE")
        if name in ("exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan"):
            if not arity(1, 2) or (n == 2 and name != "log"):
                return None
            for arg in args:
                self.dimensionless(arg, f"the argument of {name.upper()}")
            return {}
        if name == "sqrt":
            if not arity(1):
                return None
            units = self.compose(args[0])
            if units is None or units is ZERO or units == {}:
                return units
            assert isinstance(units, dict)
            if all(v % 2 == 0 for v in units.values()):
                return {k: v // 2 for k, v in units.items()}
            self.issue("inconsistent", "SQRT of units with odd powers", node, found=units)
            return None
        if name in ("abs", "integer"):
            return self.compose(args[0]) if arity(1) else None
        if name in ("zidz", "xidz"):
            if not arity(2 if name == "zidz" else 3):
                return None
            ratio = self.product(node, ["/"], args[:2])
            if name == "xidz":
                return self.equal(
                    node, [_Known(ratio), args[2]], "XIDZ's ratio and its value for a zero divisor"
                )
            return ratio
        if name == "step":
            if not arity(2):
                return None
            self.expect(args[1], _YEAR, "the step time")
            return self.compose(args[0])
        if name == "ramp":
            if not arity(2, 3):
                return None
            for arg in args[1:]:
                self.expect(arg, _YEAR, "the ramp start and end times")
            slope = self.compose(args[0])
            if slope is None or slope is ZERO:
                return slope
            assert isinstance(slope, dict)
            return divide(slope, {"Year": -1})  # slope * Year
        if name in ("pulse", "pulse_train"):
            if not arity(2 if name == "pulse" else 4):
                return None
            for arg in args:
                self.expect(arg, _YEAR, f"the times of {name.upper()}")
            return {}
        self.issue(
            "unsupported", f"function {name.upper()} is not supported by the unit checker", node
        )
        return None


@dataclasses.dataclass
class _Known:
    """An already composed operand (passed to ``equal``)."""

    units: Composed


def _children(node: Any) -> list[Any]:
    if isinstance(node, _Known) or not dataclasses.is_dataclass(node):
        return []
    out: list[Any] = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, list | tuple):
            out.extend(value)
        else:
            out.append(value)
    return out


def check_model_units(mdl_path: Path | str) -> list[UnitIssue]:
    """Check the units of every equation of a Vensim model; return the issues found.

    Each element's right-hand side is parsed with PySD's Vensim parser and its
    units are composed with these rules, then compared with the declared units:

    - a reference has its variable's declared units; ``Time``, ``INITIAL TIME``,
      ``FINAL TIME``, ``TIME STEP`` and ``SAVEPER`` are in Year; a number literal
      is dimensionless, except that the literal 0 matches any units; a literal
      that is the whole right-hand side (a constant) takes the declared units;
    - ``+``, ``-``, ``MIN``, ``MAX``, ``MODULO`` and the branches of
      ``IF THEN ELSE`` need equal units, and give them; ``*`` and ``/`` compose;
    - ``^`` needs a dimensionless exponent, and a base with units only with an
      integer literal exponent; ``EXP``, ``LN``, ``LOG`` and trigonometric
      functions need dimensionless arguments; ``SQRT`` halves even powers;
      ``ABS`` and ``INTEGER`` keep units; ``ZIDZ``/``XIDZ`` divide;
    - comparisons need equal units on both sides and give Dmnl; ``:AND:``,
      ``:OR:``, ``:NOT:`` and conditions need and give Dmnl;
    - ``INTEG(rate, initial)``: the rate has the stock's units per Year and the
      initial value the stock's units; ``SMOOTH``/``DELAY``/``DELAY FIXED``:
      input and initial value have the result's units and the time is in Year;
      ``SAMPLE IF TRUE``: input and initial value have the result's units;
      ``INITIAL(x)`` has the units of ``x``; ``STEP``, ``RAMP`` and ``PULSE``
      take times in Year;
    - ``WITH LOOKUP(x, table)`` as the whole right-hand side, and a call of a
      lookup table, give the table's declared units (``x`` is not constrained);
      a ``WITH LOOKUP`` inside an expression is dimensionless.

    Besides mismatches, these are issues: a power-of-ten literal (1, 10, 100,
    0.001, ...) as a factor or divisor of ``*`` or ``/`` (a hidden unit
    constant; ``1 / x`` is allowed), ``INITIAL`` or ``INTEG`` inside an
    expression, declared units that are missing or cannot be parsed, and any
    construct the checker does not support (reported, never skipped).
    """
    abstract = _parse_abstract(mdl_path)
    issues: list[UnitIssue] = []
    for section in abstract.sections:
        checker = _UnitChecker(section.elements)
        for element in section.elements:
            checker.check_element(element)
        issues += checker.issues
    return issues


def inline_initials(mdl_path: Path | str) -> list[str]:
    """Names of the elements that use ``INITIAL`` other than as the whole right-hand side."""
    abstract = _parse_abstract(mdl_path)
    out: list[str] = []

    def nested(node: Any) -> bool:
        return any(type(c).__name__ == "InitialStructure" or nested(c) for c in _children(node))

    for section in abstract.sections:
        for element in section.elements:
            if any(nested(c.ast) for c in element.components):
                out.append(element.name)
    return out
