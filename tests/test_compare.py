"""Scenario comparison: tables, investment arithmetic, Excel, charts, envelope."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from hatinh_sd.cli import main
from hatinh_sd.compare import investment_table, load_envelope, target_table
from hatinh_sd.data import load_observed
from hatinh_sd.errors import HatinhInputError
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
    inv = investment_table(runs, {"share_of_grdp": 99.0, "source": "test"})
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
    low = investment_table(runs, {"share_of_grdp": 5.0, "source": "test"})
    assert low["over_envelope"].all() and not inv["over_envelope"].any()


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


def test_envelope_states_a_source(tmp_path):
    env = load_envelope()
    assert 0 < env["share_of_grdp"] < 100 and "assumption" in env["source"]
    bad = tmp_path / "e.yaml"
    bad.write_text("share_of_grdp: 15\n", encoding="utf-8")
    with pytest.raises(HatinhInputError, match="source"):
        load_envelope(bad)
