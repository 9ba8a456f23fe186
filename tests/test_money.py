"""Money is conserved: the debt is the sum of deficits, the four sector balances sum to
zero, every sector's saving equals its investment plus its net lending, and a binding
debt limit cuts public investment instead of letting debt pass the limit."""

from __future__ import annotations

import numpy as np
import pytest

from hatinh_sd.calibration import fine_times

#: A plan the budget cannot pay from revenue: S&T spending and public investment at
#: the top of their ranges from 2026, so the province borrows.
BORROWING = {
    "science technology spending": 0.02,
    "public investment rate": 0.25,
    "PPP infrastructure investment": 6000,
    "logistics": 3000,
}

SECTORS = (
    "private_balance",
    "government_balance",
    "outside_investors_balance",
    "rest_of_world_balance",
)


@pytest.fixture(scope="module")
def borrowing_run(model):
    return model.run(BORROWING, times=fine_times(model))


@pytest.fixture(scope="module")
def baseline_fine(model):
    return model.run(times=fine_times(model))


def test_debt_is_the_integral_of_deficits(model, borrowing_run):
    ds = borrowing_run
    debt = ds["public_debt"].values
    deficit = ds["government_deficit"].values
    assert debt.max() > 100, "the scenario must borrow for the test to mean anything"
    # Euler integration with the model's step: debt(t_k) = debt(t_0) + sum_{i<k} deficit(t_i) dt
    expected = debt[0] + np.concatenate([[0.0], np.cumsum(deficit[:-1]) * model.time_step])
    assert np.max(np.abs(debt - expected)) <= 1e-6 * max(1.0, debt.max())


@pytest.mark.parametrize("case", ["baseline", "borrowing"])
def test_sector_balances_sum_to_zero(baseline_fine, borrowing_run, case):
    ds = baseline_fine if case == "baseline" else borrowing_run
    total = sum(ds[s].values for s in SECTORS)
    scale = ds["grdp_current"].values
    assert np.max(np.abs(total) / scale) <= 1e-6
    # and the balances are not trivially zero (the budget only runs a deficit when it borrows:
    # a surplus goes back to the central budget)
    assert np.max(np.abs(ds["private_balance"].values)) > 1
    assert np.max(np.abs(ds["rest_of_world_balance"].values)) > 1
    if case == "borrowing":
        assert np.max(np.abs(ds["government_balance"].values)) > 1


@pytest.mark.parametrize("case", ["baseline", "borrowing"])
def test_saving_equals_investment_plus_net_lending(baseline_fine, borrowing_run, case):
    ds = baseline_fine if case == "baseline" else borrowing_run
    scale = ds["grdp_current"].values
    private_saving = ds["private_disposable_income"] - ds["consumption"]
    gap = private_saving - (ds["private_investment_current"] + ds["private_balance"])
    assert np.max(np.abs(gap.values) / scale) <= 1e-6
    government_saving = (
        ds["own_revenue"]
        + ds["central_transfers"]
        - ds["fdi_incentives_cost"]
        - ds["government_current_spending"]
        - ds["interest_payments"]
        - ds["surplus_returned"]
    )
    gap = government_saving - (ds["public_investment"] + ds["government_balance"])
    assert np.max(np.abs(gap.values) / scale) <= 1e-6
    # the government's net lending is minus the change of its debt
    assert (
        np.max(np.abs((ds["government_balance"] + ds["government_deficit"]).values) / scale) <= 1e-6
    )


def test_binding_debt_limit_cuts_public_investment(model):
    loose = model.run(BORROWING)
    tight = model.run({**BORROWING, "debt limit ratio": 0.1})
    limit = tight["debt_limit"].values
    debt = tight["public_debt"].values
    # the debt never passes the limit (beyond the last step's rounding)
    assert np.all(debt <= limit * (1 + 1e-9) + 1e-6)
    assert float(loose["public_debt"].max()) > float(tight["public_debt"].max())
    # the plan asks for the same investment; the tight limit pays for less of it
    years = slice(2027, 2050)
    asked = tight["desired_public_investment"].sel(time=years).values
    spent = tight["public_investment"].sel(time=years).values
    assert np.all(spent <= asked + 1e-6)
    assert np.any(spent < asked * 0.99)
    assert float(tight["public_investment"].sel(time=years).sum()) < float(
        loose["public_investment"].sel(time=years).sum()
    )
