"""Structure tests of model/hatinh.mdl (Sterman's dimensional-consistency,
boundary and parameter-assessment tests), each of which can fail."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hatinh_sd.data import load_observed, load_sources
from hatinh_sd.model import repo_root
from hatinh_sd.units import divide, parse_units

README = repo_root() / "model" / "README.md"


def test_every_variable_has_units(model):
    missing = [
        r["Real Name"]
        for _, r in model.doc.iterrows()
        if r["Real Name"] != "Time" and (not isinstance(r["Units"], str) or not r["Units"].strip())
    ]
    assert missing == []


def test_every_unit_string_parses(model):
    for _, r in model.doc.iterrows():
        if r["Real Name"] != "Time":
            parse_units(r["Units"])


def test_flows_have_stock_units_per_year(model):
    assert len(model.stock_flows) >= 25
    errors = []
    for stock, flows in model.stock_flows.items():
        expected = divide(parse_units(model.units(stock)), {"Year": 1})
        assert flows, f"stock {stock} has no flows"
        for flow, _sign in flows:
            got = parse_units(model.units(flow))
            if got != expected:
                errors.append(f"{stock} [{model.units(stock)}] <- {flow} [{model.units(flow)}]")
    assert errors == []


def test_stock_flow_check_can_fail():
    # a flow in persons per year into a stock of hectares is caught
    assert parse_units("kperson/Year") != divide(parse_units("ha"), {"Year": 1})


def test_every_variable_names_a_source_or_reason(model):
    keys = set(load_sources()["key"])
    bad = []
    for _, r in model.doc.iterrows():
        if r["Real Name"] == "Time":
            continue
        comment = r["Comment"] if isinstance(r["Comment"], str) else ""
        cited = re.findall(r"source: ([A-Za-z0-9_-]+)", comment)
        unknown = [k for k in cited if k not in keys]
        reasoned = "assumption:" in comment or "calibrated:" in comment
        if unknown or not (cited or reasoned):
            bad.append((r["Real Name"], unknown or comment[:60]))
    assert bad == []


def test_parameters_have_ranges_containing_defaults(model):
    params = model.parameters
    assert len(model.levers()) >= 25
    assert sum(p.role == "uncertain" for p in params.values()) >= 15
    assert sum(p.role == "calibrated" for p in params.values()) >= 10
    for p in params.values():
        assert math.isfinite(p.low) and math.isfinite(p.high), p.name
        assert p.low < p.high, p.name
        assert p.low <= p.default <= p.high, p.name


def test_levers_belong_to_task_groups(model):
    groups = {p.group for p in model.levers().values()}
    assert {2, 3, 4, 5, 6, 8} <= groups
    assert all(1 <= g <= 10 for g in groups)


def test_lever_defaults_equal_their_historical_values(model):
    # "X historical" is the pre-policy value of lever X; the default keeps the trend
    pairs = 0
    for name, lever in model.levers().items():
        hist = f"{name} historical"
        if hist in model._real_to_py:
            pairs += 1
            assert lever.default == model._constant_defaults[model.py_name(hist)], name
    assert pairs >= 10


def _loops():
    loops = []
    for line in README.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| *([RB]\d+) *\| *([^|]+?) *\| *(.+?) *\|$", line)
        if m:
            loops.append((m.group(1), m.group(2), [x.strip() for x in m.group(3).split("->")]))
    return loops


def test_readme_names_at_least_six_loops():
    loops = _loops()
    assert len(loops) >= 6
    assert {i[0] for i, *_ in loops} == {"R", "B"}


@pytest.mark.parametrize("loop", _loops() if README.exists() else [], ids=lambda x: x[0])
def test_named_loop_is_a_cycle(model, loop):
    graph = model.dependency_graph()
    _id, _name, names = loop
    assert names[0] == names[-1], "a loop ends where it starts"
    for a, b in zip(names, names[1:]):
        assert b in graph, f"unknown variable {b!r}"
        assert a in graph[b], f"{b!r} does not use {a!r}"


#: Hà Tĩnh's outcome series: never model inputs (other series, such as the 20th
#: province's GRDP, are exogenous benchmarks).
OUTCOMES = re.compile(
    r"^(grdp|population|employment|employed|labour_force|total_social_investment|share_|urban"
    r"|fdi_|budget_|public_investment|unemployment)"
)

#: The exogenous historical series the model may read by calendar time: drivers
#: outside the province's control that are not scored or fitted outcomes (the
#: boundary table of model/README.md lists each with its source).
EXOGENOUS_SERIES = {
    "national deflator history",
    "exchange rate history",
    "steel utilisation history",
    "coal load factor history",
    "national covid services loss",
    "national covid industry loss",
}


def _model_numbers(model):
    """Every number written in the model's equations (constants and lookup points)."""
    text = (repo_root() / "model" / "hatinh.mdl").read_text(encoding="utf-8")
    equations = [block.split("~")[0] for block in text.split("|")]
    numbers = []
    for eq in equations:
        for tok in re.findall(r"(?<![A-Za-z_])-?\d+(?:\.\d+)?(?:[eE]-?\d+)?", eq):
            numbers.append(float(tok))
    return np.array(numbers)


def test_no_observed_outcome_series_drives_the_model(model):
    obs = load_observed()
    numbers = _model_numbers(model)
    assert len(numbers) > 200
    offending = []
    for _, row in obs.iterrows():
        if not OUTCOMES.match(row["indicator"]) or "ranked_province" in row["indicator"]:
            continue  # other provinces' GRDP is an exogenous benchmark (T12)
        if row["year"] <= 2010:
            continue  # 2010 values are initial conditions, allowed
        value = float(row["value"])
        if value.is_integer() and abs(value) < 100:
            continue  # small round numbers (24, 57) coincide with unrelated constants
        if np.any(np.isclose(numbers, value, rtol=1e-9, atol=0)):
            offending.append((row["indicator"], int(row["year"]), value))
    assert offending == []
    # no data variables or standalone lookups; a lookup of time only for the listed
    # exogenous series, each in the boundary table of model/README.md
    assert not any(model.doc["Type"].eq("Lookup")), "lookups must be inline WITH LOOKUP"
    assert not any(model.doc["Type"].eq("Data"))
    with_lookup = model.doc.loc[model.doc["Subtype"].eq("with Lookup")]
    text = (repo_root() / "model" / "hatinh.mdl").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    of_time = set()
    for name in with_lookup["Real Name"]:
        eq = re.search(rf"^{re.escape(name)}\s*=\s*WITH LOOKUP\s*\(\s*(.+?),\s*\(\[", text, re.M)
        assert eq, name
        if re.search(r"\b(time|calendar time)\b", eq.group(1), re.I):
            of_time.add(name)
    assert of_time == EXOGENOUS_SERIES
    for name in EXOGENOUS_SERIES:
        assert f"`{name}`" in readme, f"{name} is not in the boundary table of model/README.md"


def test_outcome_check_can_fail(model):
    # the 2012 GRDP level, were it written into the model, would be caught
    obs = load_observed()
    grdp2012 = float(obs.query("indicator == 'grdp_const2010' and year == 2012")["value"].iloc[0])
    numbers = np.append(_model_numbers(model), grdp2012)
    assert np.any(np.isclose(numbers, grdp2012, rtol=1e-9, atol=0))


def test_time_settings(model):
    assert model.initial_time == 2010 and model.final_time == 2050
    assert model.time_step <= 0.25
    assert model._constant_defaults["saveper"] == 1


def test_plan_indicators_are_named_outputs(model):
    from hatinh_sd.targets import indicator_variables

    for var in indicator_variables().values():
        assert var in model.outputs, var


def test_model_readme_assumptions_table_is_current(model):
    from hatinh_sd.modeldoc import render_assumptions

    text = README.read_text(encoding="utf-8")
    inside = text.split("<!-- assumptions:start -->")[1].split("<!-- assumptions:end -->")[0]
    assert inside.strip() == render_assumptions(model).strip(), "run: hatinh-sd docs"


def test_sources_file_is_used():
    assert Path(repo_root() / "model" / "data" / "sources.csv").exists()
    assert isinstance(load_sources(), pd.DataFrame)
