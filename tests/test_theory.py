"""Theory tests of model v2 (the Model v2 issue's definitions):

- "zero investment" = public, private and FDI investment flows all 0 from 2026
  (the model's extreme-conditions switch `investment stop year`);
- "direct and supplier jobs" of Formosa = `Steel Employment` + `formosa supplier jobs`
  (model/README.md);
- "workers per hectare" = `farm labour need per hectare` (IRRI-LABOUR).
"""

from __future__ import annotations

import numpy as np
import pytest

FORMOSA_NEVER_BUILT = {
    "formosa phase 1 capacity": 0,
    "formosa spending total": 0,
    "formosa registered 2008": 0,
    "formosa registered 2012": 0,
    "formosa registered 2017": 0,
    "formosa registered 2025": 0,
}


def at(ds, var, year):
    return float(ds[var].sel(time=year))


def test_no_productivity_growth_raises_the_agricultural_share(model, baseline):
    ds = model.run({"tfp growth trend": 0, "tfp growth agriculture": 0}, check_ranges=False)
    assert (
        at(ds, "employment_share_agriculture", 2030)
        > at(baseline, "employment_share_agriculture", 2030) + 1
    )
    assert at(ds, "grdp", 2030) < at(baseline, "grdp", 2030)


@pytest.fixture(scope="module")
def zero_investment(model):
    return model.run({"investment stop year": 2026}, check_ranges=False)


def test_zero_investment_lowers_grdp_and_surplus_labour_leaves(model, baseline, zero_investment):
    ds = zero_investment
    for year in (2030, 2040, 2050):
        assert at(ds, "grdp", year) < at(baseline, "grdp", year)
    # surplus labour shows up as underemployment and out-migration ...
    assert at(ds, "underemployment", 2050) > at(baseline, "underemployment", 2050) + 10
    later = slice(2030, 2050)
    assert float(ds["domestic_out_migration"].sel(time=later).sum()) > 2 * float(
        baseline["domestic_out_migration"].sel(time=later).sum()
    )
    # ... not as farm jobs beyond what the farmland can employ
    assert np.all(ds["agricultural_employment"].values <= ds["farm_labour_capacity"].values + 1e-6)
    assert at(ds, "employment_share_agriculture", 2050) < 60


@pytest.mark.parametrize("year", [2030, 2050])
def test_formosa_never_built_removes_at_most_three_times_its_jobs(model, baseline, year):
    ds = model.run(FORMOSA_NEVER_BUILT, check_ranges=False)
    assert at(ds, "steel_employment", year) == 0
    direct_and_suppliers = at(baseline, "steel_employment", year) + at(
        baseline, "formosa_supplier_jobs", year
    )
    assert direct_and_suppliers > 5
    lost = at(baseline, "modern_employment", year) - at(ds, "modern_employment", year)
    assert lost > 0.5 * direct_and_suppliers
    assert lost <= 3 * direct_and_suppliers, (
        f"{lost:.1f} modern jobs lost against {direct_and_suppliers:.1f}"
    )


def test_agricultural_share_falls_by_at_least_eight_points(baseline):
    share = baseline["employment_share_agriculture"].sel(time=slice(2010, 2025)).values
    assert share[0] - share[-1] >= 8
