"""Scenario comparison: tables, investment arithmetic, Excel, charts, the budget check."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from hatinh_sd.cli import main
from hatinh_sd.compare import BUDGET_SHORTFALL, budget_shortfall, investment_table, target_table
from hatinh_sd.data import load_observed
from hatinh_sd.scenarios import run_scenario
from hatinh_sd.targets import observed_series

NAMES = ["baseline", "action_programme", "formosa_phase2"]


@pytest.fixture(scope="module")
def runs(model):
    return {n: run_scenario(n, model) for n in NAMES}


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    assert main(["--lang", "vi", "compare", *NAMES, "--out", str(out)]) == 0
    return out / "compare_baseline_action_programme_formosa_phase2_vi"


def test_target_table_has_every_target_per_scenario(runs):
    t = target_table(runs)
    assert len(t) == 36
    assert list(t.groupby("scenario", sort=False).size().index) == NAMES
    row = t.query("scenario == 'formosa_phase2' and id == 'T04'").iloc[0]
    assert row["value"] == pytest.approx(
        float(runs["formosa_phase2"]["share_manufacturing"].sel(time=2030))
    )
    assert bool(row["met"]) == (abs(row["value"] - 33) <= 3.3)


def test_investment_sums_sources_and_icor(runs):
    inv = investment_table(runs)
    assert list(inv["period"].unique()) == ["2026-2030", "2031-2050"]
    ds = runs["formosa_phase2"]
    r = inv.query("scenario == 'formosa_phase2' and period == '2026-2030'").iloc[0]
    assert r["fdi"] == pytest.approx(
        float(ds["investment_fdi_current"].sel(time=slice(2026, 2030)).sum()) / 1000
    )
    assert r["state"] + r["private"] + r["fdi"] == pytest.approx(r["total"], rel=1e-9)
    icor = float(ds["total_investment"].sel(time=slice(2026, 2030)).sum()) / float(
        ds["grdp"].sel(time=2030) - ds["grdp"].sel(time=2025)
    )
    assert r["icor"] == pytest.approx(icor)
    # Formosa phase 2 is built with FDI in 2026-2030
    b = inv.query("scenario == 'baseline' and period == '2026-2030'").iloc[0]
    assert r["fdi"] > 3 * b["fdi"]
    # the budget check is the model's own: what the plan and the levers ask, unpaid; the
    # action programme's levers ask more than revenue, transfers and the debt limit pay
    over = inv.groupby("scenario")["over_budget"].all()
    assert not over["baseline"] and not over["formosa_phase2"] and over["action_programme"]
    assert r["budget_unpaid"] == pytest.approx(100 * budget_shortfall(ds, 2026, 2030))


def test_compare_writes_csv_excel_and_charts_in_vietnamese(compared):
    assert (compared / "targets.csv").exists() and (compared / "investment.csv").exists()
    t = pd.read_csv(compared / "targets.csv")
    assert "Kịch bản" in t.columns and "Giá trị năm 2050" in t.columns
    wb = load_workbook(compared / "comparison.xlsx")
    assert wb.sheetnames == ["Chỉ tiêu", "Vốn đầu tư", "Ghi chú"]
    assert wb["Vốn đầu tư"]["A1"].value == "Kịch bản"
    ws = wb["Vốn đầu tư"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == ws.dimensions
    numbers = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, float)]
    assert numbers and all(c.number_format == "#,##0.00" for c in numbers)
    assert (compared / "targets.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for tid in [f"T{i:02d}" for i in range(1, 13)]:
        assert (compared / "charts" / f"{tid}.png").stat().st_size > 10_000
        assert (compared / "charts" / f"{tid}.svg").exists()


def test_observed_urbanisation_is_derived():
    obs = observed_series(load_observed(), "urbanisation_rate")
    row = obs.loc[obs["time"] == 2010].iloc[0]
    assert row["value"] == pytest.approx(100 * 189.334 / 1232.662, rel=1e-6)
    assert observed_series(load_observed(), "digital_economy_share_grdp").empty


def test_a_plan_the_budget_cannot_pay_is_over_budget(model):
    """Public investment at the top of its range asks more than revenue, transfers and
    borrowing within the debt limit pay: the model invests less and the check says so."""
    ds = model.run({"public investment rate": model.parameters["public investment rate"].high})
    unpaid = budget_shortfall(ds, 2026, 2030)
    assert unpaid > 10 * BUDGET_SHORTFALL
    asked = float(ds["desired_public_investment"].sel(time=slice(2026, 2030)).sum())
    paid = float(ds["public_investment"].sel(time=slice(2026, 2030)).sum())
    assert paid < asked
    row = investment_table({"over": ds}).iloc[0]
    assert row["over_budget"] and row["budget_unpaid"] == pytest.approx(100 * unpaid)
