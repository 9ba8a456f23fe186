"""Vensim legality of model/hatinh.mdl: no inline INITIAL, and the units of
every equation consistent with its declared units (hatinh_sd.units)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hatinh_sd.project import default_project
from hatinh_sd.units import (
    UnitIssue,
    check_model_units,
    format_units,
    inline_initials,
    parse_units,
)

FIXTURE = Path(__file__).parent / "data" / "units_fixture.mdl"

#: Elements of model/hatinh.mdl whose unit issues are accepted, with the reason.
#: At most five; each must still fail the check (so the list cannot rot).
ALLOWED: dict[str, str] = {}


# ----------------------------------------------------------------- the model


def test_no_inline_initial_in_model():
    assert inline_initials(default_project().model) == []


def test_allow_list_is_short_and_explained():
    assert len(ALLOWED) <= 5
    for name, reason in ALLOWED.items():
        assert reason.strip(), f"allow-listed {name!r} needs a reason"


def test_every_equation_has_consistent_units():
    issues = check_model_units(default_project().model)
    failing = {i.element for i in issues}
    stale = sorted(set(ALLOWED) - failing)
    assert stale == [], (
        f"allow-listed elements that no longer fail: remove them from ALLOWED: {stale}"
    )
    remaining = [str(i) for i in issues if i.element not in ALLOWED]
    assert remaining == [], "unit issues in model/hatinh.mdl:\n" + "\n".join(remaining)


# ----------------------------------------------------------------- the fixture


def test_fixture_errors_are_reported():
    issues = check_model_units(FIXTURE)
    found = {(i.element, i.kind) for i in issues}
    assert found == {
        ("Capital", "hidden-constant"),  # output * ratio * 1
        ("Capital", "mismatch"),  # ... so the initial value is in bnVND/Year
        ("deadline", "inconsistent"),  # start year + 1
        ("output growth", "inline-initial"),  # output / INITIAL(output)
    }
    mismatch = next(i for i in issues if i.kind == "mismatch")
    assert (mismatch.expected, mismatch.found) == ("bnVND", "bnVND/Year")
    assert mismatch.expression == "output * ratio * 1"
    literal = next(i for i in issues if i.element == "deadline")
    assert (literal.expected, literal.found) == ("Year", "Dmnl")
    assert "start year + 1" in str(literal)


def test_fixture_inline_initial_is_found():
    assert inline_initials(FIXTURE) == ["output growth"]


# ----------------------------------------------------------------- composition rules

#: Variables of the tiny models below: name -> (equation, units).
_VARIABLES = {
    "p": ("3", "kperson"),
    "q": ("4", "kperson"),
    "x": ("2020", "Year"),
    "r": ("0.1", "1/Year"),
    "s": ("0.5", "Dmnl"),
    "m": ("7", "bnVND"),
}
_CONTROL = {
    "INITIAL TIME": ("2010", "Year"),
    "FINAL TIME": ("2030", "Year"),
    "TIME STEP": ("1", "Year"),
    "SAVEPER": ("TIME STEP", "Year"),
}


def _write_model(path: Path, equations: dict[str, tuple[str, str]]) -> Path:
    lines = ["{UTF-8}"]
    for name, (equation, units) in {**_VARIABLES, **equations, **_CONTROL}.items():
        definition = f"{name}{equation}" if equation.startswith("(") else f"{name} = {equation}"
        lines += [definition, f"\t~\t{units}", "\t~\tassumption: test.", "\t|", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _kinds(tmp_path: Path, equation: str, units: str, extra=None) -> list[str]:
    model = _write_model(tmp_path / "tiny.mdl", {"y": (equation, units), **(extra or {})})
    issues = check_model_units(model)
    assert all(isinstance(i, UnitIssue) for i in issues)
    return sorted(i.kind for i in issues if i.element == "y")


@pytest.mark.parametrize(
    "equation, units, kinds",
    [
        # references, + and -, * and /
        ("p + q", "kperson", []),
        ("-p + q - p", "kperson", []),
        ("p + x", "kperson", ["inconsistent"]),
        ("p * r", "kperson/Year", []),
        ("p / x", "kperson/Year", []),
        ("p * r", "kperson", ["mismatch"]),
        ("m / p * s", "bnVND/kperson", []),
        # literals: dimensionless; 0 matches any units
        ("x + 1", "Year", ["inconsistent"]),
        ("1 - s", "Dmnl", []),
        ("MAX(0, p)", "kperson", []),
        ("MIN(p, q * r)", "kperson", ["inconsistent"]),
        ("MIN(s, 1)", "Dmnl", []),
        # hidden unit constants: powers of ten as factors or divisors
        ("p * 1", "kperson", ["hidden-constant"]),
        ("p / 1", "kperson", ["hidden-constant"]),
        ("p * 1000", "kperson", ["hidden-constant"]),
        ("1000 * p", "kperson", ["hidden-constant"]),
        ("p / 100", "kperson", ["hidden-constant"]),
        ("p * 0.001", "kperson", ["hidden-constant"]),
        ("p * 2", "kperson", []),
        ("p * 0.5", "kperson", []),
        ("1 / x", "1/Year", []),
        ("p * 1 / x", "kperson/Year", ["hidden-constant"]),
        # comparisons and logic
        ("IF THEN ELSE(p > 0, p, 0)", "kperson", []),
        ("IF THEN ELSE(p > q, p, q)", "kperson", []),
        ("IF THEN ELSE(p > x, p, q)", "kperson", ["inconsistent"]),
        ("IF THEN ELSE(x > 2020, 1, 0)", "Dmnl", ["inconsistent"]),
        ("IF THEN ELSE(p > 0, p, x)", "kperson", ["inconsistent"]),
        ("IF THEN ELSE(p, p, q)", "kperson", ["inconsistent"]),
        ("IF THEN ELSE(p > 0 :AND: x >= INITIAL TIME, 1, 0)", "Dmnl", []),
        ("IF THEN ELSE(p > 0 :AND: x, 1, 0)", "Dmnl", ["inconsistent"]),
        ("IF THEN ELSE(:NOT: p > 0 :OR: s < 1, 1, 0)", "Dmnl", []),
        ("p > q", "Dmnl", []),
        # powers and functions
        ("s ^ 0.5", "Dmnl", []),
        ("p ^ 2", "kperson^2", []),
        ("x ^ -1", "1/Year", []),
        ("p ^ s", "kperson", ["inconsistent"]),
        ("s ^ x", "Dmnl", ["inconsistent"]),
        ("EXP(r * x)", "Dmnl", []),
        ("EXP(r)", "Dmnl", ["inconsistent"]),
        ("LN(s)", "Dmnl", []),
        ("SQRT(p * q)", "kperson", []),
        ("SQRT(p)", "kperson", ["inconsistent"]),
        ("ABS(p - q)", "kperson", []),
        ("ZIDZ(p, x)", "kperson/Year", []),
        ("XIDZ(p, x, r)", "kperson/Year", ["inconsistent"]),
        ("STEP(p, x)", "kperson", []),
        ("STEP(p, 2020)", "kperson", ["inconsistent"]),
        ("RAMP(r, x, x)", "Dmnl", []),
        ("Time - INITIAL TIME", "Year", []),
        ("TIME STEP * r", "Dmnl", []),
        # stocks and other Vensim structures
        ("INTEG(p * r, p)", "kperson", []),
        ("INTEG(p, p)", "kperson", ["mismatch"]),
        ("INTEG(p * r, 5)", "kperson", ["mismatch"]),
        ("INTEG(s * r, 1)", "Dmnl", []),
        ("SMOOTH(p, x)", "kperson", []),
        ("SMOOTH(p, 3)", "kperson", ["inconsistent"]),
        ("SMOOTH3I(p, x, q)", "kperson", []),
        ("DELAY FIXED(p, x, q)", "kperson", []),
        ("DELAY FIXED(p, x, x)", "kperson", ["inconsistent"]),
        ("SAMPLE IF TRUE(Time > x, p, q)", "kperson", []),
        ("SAMPLE IF TRUE(Time > x, p, x)", "kperson", ["inconsistent"]),
        ("INITIAL(p)", "kperson", []),
        ("INITIAL(p)", "Year", ["mismatch"]),
        ("p / INITIAL(p)", "Dmnl", ["inline-initial"]),
        ("p + INTEG(p * r, p)", "kperson", ["misplaced"]),
        ("PULSE(x, x) * p", "kperson", []),
        ("DELAY N(p, x, q, 3)", "kperson", []),
        ("WITH LOOKUP(x, ([(0,0)-(3000,10)],(0,0),(3000,10)))", "kperson", []),
        ("WITH LOOKUP(x + 1, ([(0,0)-(3000,10)],(0,0),(3000,10)))", "kperson", ["inconsistent"]),
        # declared units, unsupported constructs
        ("p", "kperson/", ["bad-units"]),
        ("RANDOM UNIFORM(0, 1, 0)", "Dmnl", ["unsupported"]),
    ],
)
def test_composition_rule(tmp_path, equation, units, kinds):
    assert _kinds(tmp_path, equation, units) == kinds


def test_lookup_call_returns_the_table_units(tmp_path):
    table = {"table": ("(\n\t[(0,0)-(10,10)],(0,0),(10,10))", "kperson")}  # a lookup table
    assert _kinds(tmp_path, "table(s)", "kperson", table) == []
    assert _kinds(tmp_path, "table(s) * r", "kperson", table) == ["mismatch"]


def test_issue_names_element_units_and_expression(tmp_path):
    model = _write_model(tmp_path / "tiny.mdl", {"y": ("MIN(p, q * r) * s", "kperson")})
    (issue,) = check_model_units(model)
    assert issue.element == "y"
    assert (issue.expected, issue.found) == ("kperson", "kperson/Year")
    assert issue.expression == "MIN(p, q * r)"


def test_literal_constants_take_their_declared_units(tmp_path):
    # 'x = 2020 ~ Year' is a constant, not a dimensionless literal
    assert check_model_units(_write_model(tmp_path / "tiny.mdl", {})) == []


def test_format_units_round_trips():
    for text in ["Dmnl", "kperson", "bnVND/(Year*kperson)", "1/Year", "MW*h/GWh", "kperson^2"]:
        assert parse_units(format_units(parse_units(text))) == parse_units(text)
    assert format_units({}) == "Dmnl"
    assert format_units({"Year": -1}) == "1/Year"
