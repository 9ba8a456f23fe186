"""Compare scenarios: the target scorecard side by side and what each scenario costs.

Two tables, from result Datasets of :func:`hatinh_sd.scenarios.run_scenario`:

* :func:`target_table`: every target T01-T12 per scenario (2030 value, 2050
  value, target, met/missed, gap);
* :func:`investment_table`: total social investment per period by source
  (state budget and ODA, domestic private, FDI; trillion VND at current
  prices), the incremental capital-output ratio (ICOR) and a flag when the
  state's investment exceeds the fiscal envelope stated in
  ``scenarios/fiscal_envelope.yaml`` (with its source or reason).

:func:`write_comparison` writes both as CSV and as one Excel workbook (one sheet
per table, headers in Vietnamese or English), plus the charts, atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError, read_yaml
from hatinh_sd.i18n import text
from hatinh_sd.results import atomic_dir, write_csv, write_xlsx
from hatinh_sd.targets import scorecard

__all__ = [
    "ENVELOPE_PATH",
    "PERIODS",
    "investment_table",
    "load_envelope",
    "localise",
    "budget_shortfall",
    "public_cost",
    "state_share",
    "target_table",
    "write_comparison",
]

#: Investment periods reported (calendar years, inclusive).
PERIODS: tuple[tuple[int, int], ...] = ((2026, 2030), (2031, 2050))

#: The stated fiscal envelope of state investment.
ENVELOPE_PATH = Path(__file__).resolve().parents[2] / "scenarios" / "fiscal_envelope.yaml"

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
    the figure the fiscal envelope limits (per run for an ensemble)."""
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


def load_envelope(path: Path | str | None = None) -> dict[str, object]:
    """The fiscal envelope: ``share_of_grdp`` (% of GRDP, period average), ``source`` and
    ``source_vi`` (its source or reason in English and Vietnamese; the English when the file
    has no ``source_vi``).

    Raises
    ------
    HatinhInputError
        Missing file, malformed YAML, or a missing/non-numeric share or source.
    """
    path = Path(path) if path else ENVELOPE_PATH
    doc = read_yaml(path) or {}
    share = doc.get("share_of_grdp") if isinstance(doc, dict) else None
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share < 100:
        raise HatinhInputError(
            "expected a number in (0, 100) (% of GRDP)", path=path, key="share_of_grdp"
        )
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise HatinhInputError("state the envelope's source or reason", path=path, key="source")
    source_vi = doc.get("source_vi", source)
    if not isinstance(source_vi, str) or not source_vi.strip():
        raise HatinhInputError(
            "state the envelope's source or reason in Vietnamese", path=path, key="source_vi"
        )
    return {
        "share_of_grdp": float(share),
        "source": " ".join(source.split()),
        "source_vi": " ".join(source_vi.split()),
    }


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


def investment_table(
    runs: Mapping[str, xr.Dataset], envelope: Mapping[str, object] | None = None
) -> pd.DataFrame:
    """Investment by source per period, ICOR and the fiscal-envelope flag.

    Returns
    -------
    DataFrame
        One row per scenario and period: ``state``, ``private``, ``fdi``,
        ``total`` (trillion VND, current prices, summed over the period's
        years), ``state_share_grdp`` (state investment over GRDP, both summed,
        %), ``icor`` (investment at constant 2010 prices over the period over
        the GRDP increase from the year before it to its last year, a ratio),
        ``envelope`` (% of GRDP) and ``over_envelope``.
    """
    envelope = envelope or load_envelope()
    limit = float(envelope["share_of_grdp"])  # type: ignore[arg-type]
    rows = []
    for name, ds in runs.items():
        for start, end in PERIODS:
            years = slice(start, end)
            row: dict[str, object] = {"scenario": name, "period": f"{start}-{end}"}
            for key, var in SOURCES.items():
                row[key] = float(ds[var].sel(time=years).sum()) / 1000.0
            share = state_share(ds, start, end)
            invest_real = float(ds["total_investment"].sel(time=years).sum())
            growth = float(ds["grdp"].sel(time=end) - ds["grdp"].sel(time=start - 1))
            row.update(
                state_share_grdp=share,
                icor=invest_real / growth if growth > 0 else float("nan"),
                envelope=limit,
                over_envelope=share > limit,
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
    if "over_envelope" in out:
        out["over_envelope"] = [
            text("compare.over" if m else "compare.within", lang) for m in out["over_envelope"]
        ]
    if "id" in out:
        out.insert(2, "label", [text(f"target.{i}", lang) for i in out["id"]])
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
    envelope: Mapping[str, object] | None = None,
    charts: bool = True,
    titles: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Write ``targets.csv``, ``investment.csv``, ``comparison.xlsx`` and ``charts/`` into ``folder``.

    The CSV files keep the scenario names and indicator codes (data for programs); the
    workbook, for people, shows the scenarios' ``titles``, units in planning terms and no
    code columns (:func:`for_people`). The folder is assembled in a temporary folder and
    moved into place.

    Returns
    -------
    dict
        ``targets`` and ``investment`` tables (unlocalised).
    """
    envelope = envelope or load_envelope()
    tables = {
        "targets": target_table(runs, targets),
        "investment": investment_table(runs, envelope),
    }
    with atomic_dir(Path(folder)) as tmp:
        sheets = {}
        for key, df in tables.items():
            loc = localise(df, lang)
            write_csv(loc, tmp / f"{key}.csv", index=False, float_format="%.6g")
            sheets[text(f"compare.sheet.{key}", lang)] = loc
        note = pd.DataFrame(
            {
                text("compare.col.note", lang): [
                    text("compare.envelope_note", lang, share=envelope["share_of_grdp"]),
                    str(envelope["source_vi" if lang == "vi" else "source"]),
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
