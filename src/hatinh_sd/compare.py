"""Compare scenarios: the target scorecard side by side and what each scenario costs.

Two tables, from result Datasets of :func:`hatinh_sd.scenarios.run_scenario`:

* :func:`target_table`: every target T01-T12 per scenario (2030 value, 2050
  value, target, met/missed, gap);
* :func:`investment_table`: total social investment per period by source
  (state budget and ODA, domestic private, FDI; trillion VND at current
  prices), the incremental capital-output ratio (ICOR) and a flag when the
  model's budget cannot pay what the plan and the levers ask of it (:func:`budget_shortfall`:
  revenue, central transfers and borrowing within the debt limit of the State Budget Law).

:func:`write_comparison` writes both as CSV and as one Excel workbook (one sheet
per table, headers in Vietnamese or English), plus the charts, atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.i18n import number, text
from hatinh_sd.results import atomic_dir, write_csv, write_xlsx
from hatinh_sd.targets import scorecard, target_label

__all__ = [
    "BUDGET_SHORTFALL",
    "PERIODS",
    "investment_table",
    "localise",
    "budget_shortfall",
    "public_cost",
    "state_share",
    "target_table",
    "write_comparison",
]

#: Investment periods reported (calendar years, inclusive).
PERIODS: tuple[tuple[int, int], ...] = ((2026, 2030), (2031, 2050))

#: Largest share of what the plan and the levers ask of the budget over a period that it may
#: leave unpaid before a scenario counts as over the budget (the model's own budget and debt
#: limit is the one fiscal constraint: compare, report, seek and robust use it).
BUDGET_SHORTFALL = 0.01

#: Investment variables by source (bnVND/Year, current prices).
SOURCES = {
    "state": "investment_state_current",
    "private": "investment_private_current",
    "fdi": "investment_fdi_current",
    "total": "total_investment_current",
}


#: The province's public spending (bnVND/Year, current prices) that :func:`public_cost`
#: sums: state investment (budget, the state's PPP share, state enterprises), the lever
#: programmes the budget pays (their need times the share it can fund) and FDI incentives.
PUBLIC_COST_VARIABLES = (
    "investment_state_current",
    "desired_public_investment",
    "public_investment",
    "programme_spending_need",
    "programme_funding_ratio",
    "fdi_incentives_cost",
    "grdp_current",
)


def _total(da: xr.DataArray, start: int, end: int) -> Any:
    """Sum over calendar years ``start``-``end``: a float, or an array over runs."""
    total = da.sel(time=slice(start, end)).sum("time").values
    return float(total) if np.ndim(total) == 0 else total


def public_cost(ds: xr.Dataset, start: int, end: int) -> Any:
    """Public cost over calendar years ``start``-``end`` (trillion VND, current prices): state
    investment plus funded lever programmes plus FDI incentives, summed over the years (per
    run for an ensemble)."""
    spend = (
        ds["investment_state_current"]
        + ds["programme_spending_need"] * ds["programme_funding_ratio"]
        + ds["fdi_incentives_cost"]
    )
    return _total(spend, start, end) / 1000.0


def state_share(ds: xr.Dataset, start: int, end: int) -> Any:
    """State investment over GRDP (both at current prices, summed over ``start``-``end``), %:
    (per run for an ensemble)."""
    state = _total(ds[SOURCES["state"]], start, end)
    return 100.0 * state / _total(ds["grdp_current"], start, end)


def budget_shortfall(ds: xr.Dataset, start: int, end: int) -> Any:
    """Share of what the plan and the levers ask of the budget over ``start``-``end`` that the
    model's budget (revenue, transfers and borrowing within the debt limit) cannot pay:
    public investment asked but not made plus lever programmes not funded, over what was
    asked (0 when everything is paid; per run for an ensemble)."""
    asked = ds["desired_public_investment"] + ds["programme_spending_need"]
    unpaid = (ds["desired_public_investment"] - ds["public_investment"]) + ds[
        "programme_spending_need"
    ] * (1 - ds["programme_funding_ratio"])
    return _total(unpaid, start, end) / _total(asked, start, end)


def target_table(
    runs: Mapping[str, xr.Dataset], targets: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Targets T01-T12 for every scenario (rows: scenario x target).

    Columns: scenario, id, indicator, year, value, value_2050, comparator,
    target, unit, met, gap (see :func:`hatinh_sd.targets.scorecard`).
    """
    frames = []
    for name, ds in runs.items():
        card = scorecard(ds, targets=targets)
        card.insert(0, "scenario", name)
        frames.append(card)
    return pd.concat(frames, ignore_index=True)


#: The variables the investment table reads; a project whose model lacks one has no table.
INVESTMENT_VARIABLES = (
    *SOURCES.values(),
    "total_investment",
    "grdp",
    "grdp_current",
    "desired_public_investment",
    "public_investment",
    "programme_spending_need",
    "programme_funding_ratio",
)


def has_investment_accounts(ds: xr.Dataset) -> bool:
    """Whether a run has every variable of :data:`INVESTMENT_VARIABLES`."""
    return all(v in ds for v in INVESTMENT_VARIABLES)


def investment_table(
    runs: Mapping[str, xr.Dataset], periods: Sequence[tuple[int, int]] = PERIODS
) -> pd.DataFrame:
    """Investment by source per period (:data:`PERIODS` by default), ICOR and the budget check.

    Returns
    -------
    DataFrame
        One row per scenario and period: ``state``, ``private``, ``fdi``,
        ``total`` (trillion VND, current prices, summed over the period's
        years), ``state_share_grdp`` (state investment over GRDP, both summed,
        %), ``icor`` (investment at constant 2010 prices over the period over
        the GRDP increase from the year before it to its last year, a ratio),
        ``budget_unpaid`` (% of what the plan and the levers ask of the budget that it
        cannot pay, :func:`budget_shortfall`) and ``over_budget`` (more than
        :data:`BUDGET_SHORTFALL`).
    """
    rows = []
    for name, ds in runs.items():
        for start, end in periods:
            years = slice(start, end)
            row: dict[str, object] = {"scenario": name, "period": f"{start}-{end}"}
            for key, var in SOURCES.items():
                row[key] = float(ds[var].sel(time=years).sum()) / 1000.0
            invest_real = float(ds["total_investment"].sel(time=years).sum())
            growth = float(ds["grdp"].sel(time=end) - ds["grdp"].sel(time=start - 1))
            unpaid = budget_shortfall(ds, start, end)
            row.update(
                state_share_grdp=state_share(ds, start, end),
                icor=invest_real / growth if growth > 0 else float("nan"),
                budget_unpaid=100.0 * unpaid,
                over_budget=unpaid > BUDGET_SHORTFALL,
            )
            rows.append(row)
    return pd.DataFrame(rows)


def localise(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Rename columns to their ``lang`` headers and translate met/missed and flags."""
    out = df.copy()
    if "met" in out:
        states = (
            out.pop("status") if "status" in out else ["met" if m else "missed" for m in out["met"]]
        )
        out["met"] = [text(f"scorecard.{s}", lang) for s in states]
    if "over_budget" in out:
        out["over_budget"] = [
            text("compare.over" if m else "compare.within", lang) for m in out["over_budget"]
        ]
    if "id" in out:
        out.insert(2, "label", [target_label(i, lang) for i in out["id"]])
    return out.rename(columns={c: text(f"compare.col.{c}", lang) for c in out.columns})


#: Columns of codes for programs, left out of the workbook people read.
CODE_COLUMNS = ("indicator", "variable")


def for_people(
    df: pd.DataFrame, lang: str, titles: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """A localised table (:func:`localise`) as people read it: scenario titles for names,
    units in planning terms, without the code columns."""
    from hatinh_sd.vocabulary import unit

    out = df.copy()
    col = {c: text(f"compare.col.{c}", lang) for c in ("scenario", "unit", *CODE_COLUMNS)}
    if titles and col["scenario"] in out:
        out[col["scenario"]] = [titles.get(str(v), str(v)) for v in out[col["scenario"]]]
    if col["unit"] in out:
        out[col["unit"]] = [unit(str(v), lang) for v in out[col["unit"]]]
    return out.drop(columns=[col[c] for c in CODE_COLUMNS if col[c] in out])


def write_comparison(
    runs: Mapping[str, xr.Dataset],
    folder: Path | str,
    *,
    lang: str = "en",
    targets: pd.DataFrame | None = None,
    observed: pd.DataFrame | None = None,
    charts: bool = True,
    titles: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Write ``targets.csv``, ``investment.csv`` (for models with the investment accounts,
    :data:`INVESTMENT_VARIABLES`), ``comparison.xlsx`` and ``charts/`` into ``folder``.

    The CSV files keep the scenario names and indicator codes (data for programs); the
    workbook, for people, shows the scenarios' ``titles``, units in planning terms and no
    code columns (:func:`for_people`). The folder is assembled in a temporary folder and
    moved into place.

    Returns
    -------
    dict
        ``targets`` and (when written) ``investment`` tables (unlocalised).
    """
    tables = {"targets": target_table(runs, targets)}
    if all(has_investment_accounts(ds) for ds in runs.values()):
        tables["investment"] = investment_table(runs)
    with atomic_dir(Path(folder)) as tmp:
        sheets = {}
        for key, df in tables.items():
            loc = localise(df, lang)
            write_csv(loc, tmp / f"{key}.csv", index=False, float_format="%.6g")
            sheets[text(f"compare.sheet.{key}", lang)] = loc
        note = pd.DataFrame(
            {
                text("compare.col.note", lang): [
                    text("compare.budget_note", lang, share=number(100 * BUDGET_SHORTFALL, lang)),
                    text("scorecard.disclaimer", lang),
                ]
            }
        )
        sheets[text("compare.sheet.notes", lang)] = note
        write_xlsx(
            {name: for_people(df, lang, titles) for name, df in sheets.items()},
            tmp / "comparison.xlsx",
        )
        if charts:
            from hatinh_sd.charts import write_charts

            write_charts(runs, tmp / "charts", lang=lang, targets=targets, observed=observed)
    return tables
