"""Levers cost something and act in plausible measure.

Every lever's cost is a unit cost times the lever's quantity (the catalogue's cost
lines, recomputed here from the model's own variables); every lever moves 2030 GRDP
by no more than the bound its evidence allows; FDI incentives and park land each move
non-mega FDI registrations by at least 10 % over their range; the lever table of
model/README.md is current.
"""

from __future__ import annotations

import numpy as np
import pytest

from hatinh_sd.model import repo_root
from hatinh_sd.scenarios import lever_effects, load_catalogue


@pytest.fixture(scope="module")
def catalogue(model):
    return load_catalogue(model=model)


@pytest.fixture(scope="module")
def all_max(model):
    return model.run({n: p.high for n, p in model.levers().items()})


@pytest.fixture(scope="module")
def table(model, catalogue):
    return lever_effects(model, catalogue)


def _check_lines(model, catalogue, ds):
    checked = 0
    for name, entry in catalogue.levers.items():
        for line in entry.cost or []:
            expected = ds[model.py_name(line.quantity)].values.copy()
            if line.unit is not None:
                expected = (
                    expected * ds[model.py_name(line.unit)].values
                    if model.py_name(line.unit) in ds
                    else expected * model.defaults[line.unit]
                )
            for f in line.factors:
                expected = expected * ds[model.py_name(f)].values
            got = ds[model.py_name(line.variable)].values
            scale = max(1.0, float(np.abs(got).max()))
            assert np.max(np.abs(got - expected)) <= 1e-9 * scale, f"{name}: {line.variable}"
            checked += 1
    return checked


@pytest.mark.parametrize("case", ["baseline", "all_max"])
def test_every_cost_is_unit_cost_times_quantity(model, catalogue, baseline, all_max, case):
    ds = baseline if case == "baseline" else all_max
    assert _check_lines(model, catalogue, ds) >= 25


def test_every_lever_that_acts_costs_something(model, catalogue, all_max, baseline):
    """A lever either has cost lines that are positive at its maximum, or a stated reason."""
    years = slice(2026, 2050)
    for name, entry in catalogue.levers.items():
        if entry.no_cost:
            continue
        total = sum(
            float(all_max[model.py_name(line.variable)].sel(time=years).sum())
            for line in entry.cost
        )
        assert total > 0, name
    # the budget pays for the budget programmes: at every lever's maximum it spends more
    assert float(all_max["government_current_spending"].sel(time=years).sum()) > float(
        baseline["government_current_spending"].sel(time=years).sum()
    )


def test_lever_effects_stay_within_their_bounds(table):
    assert len(table) >= 20
    over = table[table["grdp_2030"].abs() > table["bound"]]
    assert over.empty, over[["lever", "grdp_2030", "bound"]].to_string()
    # the levers do something: most of them move 2030 GRDP by at least 0.1 %
    assert (table["grdp_2030"].abs() >= 0.1).sum() >= 15


@pytest.mark.parametrize("lever", ["FDI incentives", "industrial land development rate"])
def test_fdi_levers_move_registrations_by_ten_percent(model, lever):
    p = model.parameters[lever]
    low = model.run({lever: p.low}, outputs=["fdi_registrations"])
    high = model.run({lever: p.high}, outputs=["fdi_registrations"])
    years = slice(2026, 2035)
    lo = float(low["fdi_registrations"].sel(time=years).sum())
    hi = float(high["fdi_registrations"].sel(time=years).sum())
    assert hi >= 1.1 * lo, f"{lever}: {hi:.0f} vs {lo:.0f} MUSD of registrations 2026-2035"


def test_readme_lever_table_is_current(model, table):
    from hatinh_sd.modeldoc import render_levers

    text = (repo_root() / "model" / "README.md").read_text(encoding="utf-8")
    inside = text.split("<!-- levers:start -->")[1].split("<!-- levers:end -->")[0]
    assert inside.strip() == render_levers(table).strip(), "run: hatinh-sd docs"
