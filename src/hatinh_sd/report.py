"""The bilingual scenario report: one self-contained HTML file for planners.

:func:`build_report` runs the chosen scenarios and assembles, with every
heading and label in Vietnamese or English:

1. the scorecard of targets T01-T12 across the scenarios;
2. one chart per target indicator (scenarios, observed history, the 2030
   target and, where ``hatinh-sd uncertainty`` results for the current model
   exist, percentile bands);
3. the calibration fit table and fitted-vs-observed charts with source keys;
4. sensitivity rankings, where ``hatinh-sd sensitivity`` results for the
   current model exist;
5. the lever settings of each scenario;
6. the assumptions register (generated from the ``.mdl``);
7. the model diagram (drawn from the ``.mdl`` by :mod:`hatinh_sd.diagram`);
8. the known limitations, taken from ``model/README.md``;

and states that this is a planning model, not a forecast. Images are embedded
as base64 ``data:`` URIs, so the file opens without network access.
:func:`write_report` writes it atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import LANGUAGES, number, text
from hatinh_sd.model import Model, repo_root
from hatinh_sd.results import atomic_file

__all__ = [
    "SECTIONS",
    "Evidence",
    "build_report",
    "find_bands",
    "find_sensitivity",
    "fit_figure",
    "limitations",
    "write_report",
]

#: Section ids of the report, in order (each has a heading ``report.section.<id>``).
SECTIONS = (
    "scorecard",
    "targets",
    "calibration",
    "sensitivity",
    "levers",
    "assumptions",
    "diagram",
    "limitations",
)

#: Last calendar year of the fitted-vs-observed charts.
FIT_CHART_END = 2026.0

#: Factors shown per output in the sensitivity ranking.
TOP_FACTORS = 5


# --------------------------------------------------------------------- evidence
@dataclass
class Evidence:
    """Results of an ensemble found under ``outputs/``.

    Attributes
    ----------
    path : Path
        The file read.
    current : bool
        Whether it was computed with the current model (``.mdl`` SHA-256).
    model_hash : str
        The model hash recorded in the file.
    data : object
        ``xarray.Dataset`` of bands, or ``(method, indices DataFrame)``.
    """

    path: Path
    current: bool
    model_hash: str
    data: object


def find_bands(model: Model, scenarios: Sequence[str], outputs: Path) -> dict[str, Evidence]:
    """Percentile bands of ``hatinh-sd uncertainty`` per scenario, where they exist.

    Reads ``outputs/uncertainty/<scenario>/bands.nc`` (variables over
    ``percentile`` and ``time``, attribute ``model_sha256``).
    """
    found = {}
    for name in scenarios:
        path = Path(outputs) / "uncertainty" / name / "bands.nc"
        if not path.exists():
            continue
        with xr.open_dataset(path) as ds:
            bands = ds.load()
        h = str(bands.attrs.get("model_sha256", ""))
        found[name] = Evidence(path, h == model.hash, h, bands)
    return found


def find_sensitivity(model: Model, outputs: Path) -> list[Evidence]:
    """Sensitivity indices of ``hatinh-sd sensitivity`` runs under ``outputs/sensitivity/``.

    Each folder with an ``indices.csv`` counts; the method is ``sobol`` when
    the table has ``ST``, else ``morris`` (``mu_star``); the model hash comes
    from ``ensemble.nc``'s attributes.
    """
    from hatinh_sd.sensitivity import main_index

    found = []
    for path in sorted((Path(outputs) / "sensitivity").glob("*/indices.csv")):
        table = pd.read_csv(path)
        method = "sobol" if "ST" in table.columns else "morris"
        if not {"output", "factor", main_index(method)} <= set(table.columns):
            continue
        h = ""
        ens = path.parent / "ensemble.nc"
        if ens.exists():
            with xr.open_dataset(ens) as ds:
                h = str(ds.attrs.get("model_sha256", ""))
        found.append(Evidence(path, h == model.hash, h, (method, table)))
    return found


# --------------------------------------------------------------------- charts
def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=100)
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str, alt: str, mime: str = "image/png", cls: str = "chart") -> str:
    return f"<img class='{cls}' alt='{html.escape(alt)}' src='data:{mime};base64,{data}'/>"


def _target_chart(
    runs: Mapping[str, xr.Dataset],
    tid: str,
    lang: str,
    targets: pd.DataFrame,
    observed: pd.DataFrame,
    bands: Mapping[str, Evidence],
) -> str:
    """A target chart of :mod:`hatinh_sd.charts` with the scenarios' uncertainty bands."""
    from hatinh_sd.charts import target_figure
    from hatinh_sd.targets import INDICATOR_VARIABLES, indicator_series

    fig = target_figure(runs, tid, lang=lang, targets=targets, observed=observed)
    ax = fig.axes[0]
    indicator = str(targets.set_index("target_id").at[tid, "indicator"])
    var = INDICATOR_VARIABLES[indicator]
    added = False
    scenario_lines = list(ax.lines)[: len(runs)]  # drawn first, one per scenario
    for line, name in zip(scenario_lines, runs):
        ev = bands.get(name)
        if ev is None or not ev.current or var not in ev.data:  # type: ignore[operator]
            continue
        b = indicator_series(ev.data, indicator)  # type: ignore[arg-type]
        pct = b["percentile"].values
        low, high = float(pct.min()), float(pct.max())
        for q in (low, high):  # dotted bounds keep the band apart from the grey history
            ax.plot(
                b["time"].values,
                b.sel(percentile=q).values,
                color=line.get_color(),
                lw=0.8,
                ls=":",
                zorder=2,
            )
        ax.fill_between(
            b["time"].values,
            b.sel(percentile=low).values,
            b.sel(percentile=high).values,
            color=line.get_color(),
            alpha=0.18,
            lw=0,
            zorder=2,
            label=text(
                "report.targets.band",
                lang,
                scenario=name,
                low=f"{low:g}",
                high=f"{high:g}",
                runs=int(ev.data.attrs.get("n_runs", 0)),  # type: ignore[attr-defined]
            ),
        )
        added = True
    if added:
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return _png(fig)


def fit_figure(
    setup, obs: pd.DataFrame, values: np.ndarray, ds: xr.Dataset, indicator: str, lang: str
):
    """Fitted against observed for one calibration series (a matplotlib Figure).

    ``obs`` and ``values`` are :func:`hatinh_sd.calibration.model_fit`'s
    output, ``ds`` a run at :func:`hatinh_sd.calibration.fine_times`. Levels
    and means are drawn as the model's line (calendar time, mid-year + 0.5);
    growth rates and cumulative sums as the model's values beside the
    observed points. Observed points are marked by status (R, D, E); points
    left out of the fit are grey crosses. The title names the source keys.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hatinh_sd.calibration import DERIVED

    spec = setup.series[indicator]
    rows = obs[obs.indicator == indicator]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if spec.kind in ("mean", "end"):
        da = DERIVED[spec.variable](ds) if spec.variable in DERIVED else ds[spec.variable]
        t_cal = ds["time"].values + 0.5
        seen = t_cal <= FIT_CHART_END  # history only: the y axis follows the data
        ax.plot(
            t_cal[seen],
            da.values[seen] * spec.factor,
            color="#1f5fa8",
            lw=1.8,
            label=text("report.fit.model", lang, variable=spec.variable),
        )
    pos = obs.index.get_indexer(rows.index)
    used = rows["used"].to_numpy()
    t = rows["year"].to_numpy() + (rows["t0"].to_numpy() + rows["t1"].to_numpy()) / 2 + 0.5
    t = t - rows["year"].to_numpy()
    for status, marker in (("R", "o"), ("D", "s"), ("E", "^")):
        sel = used & (rows["status"].to_numpy() == status)
        if sel.any():
            ax.scatter(
                t[sel],
                rows["observed"].to_numpy()[sel],
                marker=marker,
                color="#c0392b",
                zorder=3,
                label=text("report.fit.observed", lang, status=status),
            )
    if (~used).any():
        ax.scatter(
            t[~used],
            rows["observed"].to_numpy()[~used],
            marker="x",
            color="grey",
            zorder=3,
            label=text("report.fit.not_used", lang),
        )
    if spec.kind in ("growth", "cumulative"):
        ax.scatter(
            t[used],
            values[pos][used],
            marker="D",
            color="#1f5fa8",
            zorder=3,
            label=text("report.fit.model_points", lang),
        )
    sources = ", ".join(sorted(set(rows["source"])))
    ax.set_title(
        f"{indicator} [{rows['unit'].iloc[0]}]\n{text('report.fit.sources', lang, sources=sources)}",
        fontsize=9,
    )
    ax.set_xlabel(text("chart.year", lang), fontsize=8)
    ax.set_xlim(2009, FIT_CHART_END)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------- text
def _inline_md(s: str) -> str:
    s = html.escape(s, quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def limitations(readme: Path | None = None) -> list[tuple[str, list[str]]]:
    """The bullets of ``## Known limitations`` in ``model/README.md``: (text, sub-bullets).

    Raises
    ------
    HatinhInputError
        When the section is missing or has no bullets.
    """
    path = Path(readme or repo_root() / "model" / "README.md")
    doc = path.read_text(encoding="utf-8")
    m = re.search(r"^## Known limitations\s*$(.*?)(?=^## |\Z)", doc, re.M | re.S)
    items: list[tuple[str, list[str]]] = []
    for line in (m.group(1) if m else "").splitlines():
        if line.startswith("- "):
            items.append((line[2:].strip(), []))
        elif re.match(r"\s+- ", line) and items:
            items[-1][1].append(line.strip()[2:])
    if not items:
        raise HatinhInputError("no bullet list under '## Known limitations'", path=path)
    return items


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "t") -> str:
    """An HTML table; cells are HTML already (escape before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _num(x: float, lang: str) -> str:
    return number(x, lang)


# --------------------------------------------------------------------- sections
def _unit(unit: object, lang: str) -> str:
    """A unit of targets.csv in ``lang`` (the charts' unit labels)."""
    from hatinh_sd.charts import _UNIT_KEYS

    return text(_UNIT_KEYS.get(str(unit), "unit.percent"), lang)


def _scorecard(card: pd.DataFrame, names: list[str], lang: str) -> str:
    e = html.escape
    header = [
        e(text("report.col.id", lang)),
        e(text("report.col.indicator", lang)),
        e(text("report.col.target", lang)),
    ]
    for name in names:
        header += [
            f"{e(name)}<br>{e(text('report.col.value', lang, year=2030))}",
            f"{e(name)}<br>{e(text('report.col.value', lang, year=2050))}",
        ]
    rows = []
    for key, grp in card.groupby("id", sort=False):
        tid = str(key)
        first = grp.iloc[0]
        row = [
            e(tid),
            e(text(f"target.{tid}", lang)),
            e(
                f"{first['comparator']} {first['target']:g} ({_unit(first['unit'], lang)}, {int(first['year'])})"
            ),
        ]
        for name in names:
            r = grp[grp["scenario"] == name].iloc[0]
            status = text(f"scorecard.{r['status']}", lang)
            cls = "met" if r["met"] else "missed"
            row.append(
                f"<td class='{cls}' data-scenario='{e(name)}' data-id='{e(tid)}' "
                f"data-value='{float(r['value'])!r}'>{_num(r['value'], lang)} "
                f"<span class='status'>{'✓' if r['met'] else '✗'} {e(status)}</span></td>"
            )
            row.append(
                f"<td data-scenario='{e(name)}' data-id='{e(tid)}' "
                f"data-value-2050='{float(r['value_2050'])!r}'>{_num(r['value_2050'], lang)}</td>"
            )
        rows.append(row)
    counts = "; ".join(
        text(
            "report.scorecard.count",
            lang,
            scenario=name,
            met=int(card.loc[card["scenario"] == name, "met"].sum()),
            total=int((card["scenario"] == name).sum()),
        )
        for name in names
    )
    return (
        f"<p>{e(text('report.scorecard.intro', lang))}</p>"
        + _table(header, rows, "t scorecard")
        + f"<p>{e(counts)}</p><p class='note'>{e(text('scorecard.note_T05', lang))}</p>"
    )


def _levers(model: Model, scenarios: list, lang: str) -> str:
    from hatinh_sd.scenarios import Ramp, Step, load_catalogue

    e = html.escape
    cat = load_catalogue(model=model)
    names = list(cat.levers) + [t for t in cat.timing_of if any(t in s.levers for s in scenarios)]
    header = [
        e(text(f"report.levers.col.{c}", lang)) for c in ("lever", "unit", "range", "default")
    ]
    header += [e(s.name) for s in scenarios]
    body = []
    for group, tg in cat.task_groups.items():
        members = [n for n in names if cat.parameters[n].group == group]
        title = getattr(tg.title, lang)
        span = len(header)
        body.append([f"<td colspan='{span}' class='group'>g{group}: {e(title)}</td>"])
        if not members:
            why = tg.outside_boundary
            body.append(
                [f"<td colspan='{span}' class='note'>{e(getattr(why, lang) if why else '–')}</td>"]
            )
        for n in members:
            p = cat.parameters[n]
            row = [e(n), e(p.units), f"[{p.low:g}, {p.high:g}]", f"{p.default:g}"]
            for s in scenarios:
                spec = s.levers.get(n)
                if spec is None:
                    row.append("<td class='default'>·</td>")
                elif isinstance(spec, Step):
                    row.append(
                        e(
                            text(
                                "report.levers.step",
                                lang,
                                value=f"{spec.value:g}",
                                year=f"{spec.year:g}",
                            )
                        )
                    )
                elif isinstance(spec, Ramp):
                    row.append(
                        e(
                            text(
                                "report.levers.ramp",
                                lang,
                                value=f"{spec.value:g}",
                                start=f"{spec.from_:g}",
                                end=f"{spec.to:g}",
                            )
                        )
                    )
                else:
                    row.append(f"{float(spec):g}")
            body.append(row)
    titles = "".join(
        f"<li><strong>{e(s.name)}</strong>: {e(getattr(s.title, lang))}. "
        f"{e(getattr(s.description, lang))} <em>({e(s.cites)})</em></li>"
        for s in scenarios
    )
    return f"<ul>{titles}</ul><p>{e(text('report.levers.intro', lang))}</p>" + _table(
        header, body, "t levers"
    )


def _assumptions(model: Model, lang: str) -> str:
    from hatinh_sd.modeldoc import render_assumptions

    e = html.escape
    lines = render_assumptions(model).splitlines()[2:]
    rows = [[e(c.strip()) for c in line.strip().strip("|").split("|")] for line in lines]
    header = [
        e(text(f"report.assumptions.col.{c}", lang))
        for c in ("parameter", "value", "unit", "range", "role", "source")
    ]
    return f"<p>{e(text('report.assumptions.intro', lang, n=len(rows)))}</p>" + _table(
        header, rows, "t small"
    )


def _sensitivity(evidence: list[Evidence], lang: str, model: Model) -> str:
    from hatinh_sd.sensitivity import main_index, top_factors

    e = html.escape
    if not evidence:
        return f"<p class='na'>{e(text('report.sensitivity.none', lang))}</p>"
    parts = []
    for ev in evidence:
        method, table = cast(tuple[str, pd.DataFrame], ev.data)
        config = ev.path.parent.name
        if not ev.current:
            parts.append(
                f"<p class='na'>{e(text('report.sensitivity.stale', lang, config=config, old=ev.model_hash[:12] or '?', new=model.hash[:12]))}</p>"
            )
            continue
        key = main_index(method)
        parts.append(
            f"<h3>{e(config)}</h3><p>{e(text(f'report.sensitivity.intro_{method}', lang, k=TOP_FACTORS))}</p>"
        )
        outputs = [o for o in table["output"].unique() if not str(o).endswith("_every_year")]
        rows = []
        for out in outputs:
            m = re.match(r"(T\d\d)_(\d{4})$", str(out))
            if m:
                label = f"{out}: {text(f'target.{m.group(1)}', lang)}"
            else:  # another output: the model variable's name (names are not translated)
                variable = table.loc[table["output"] == out, "variable"].iloc[0]
                label = f"{out}: {model.real_name(str(variable))}"
            top = top_factors(table, method, out, TOP_FACTORS)
            cells = [
                f"{e(str(r.factor))} <span class='{'lever' if r.group == 'lever' else 'unc'}'>({_num(getattr(r, key), lang)})</span>"
                for r in top.itertuples()
            ]
            rows.append([e(label)] + cells + [""] * (TOP_FACTORS - len(cells)))
        header = [e(text("report.sensitivity.col.output", lang))] + [
            e(text("report.sensitivity.col.rank", lang, rank=i + 1)) for i in range(TOP_FACTORS)
        ]
        parts.append(_table(header, rows, "t small"))
    if any(ev.current for ev in evidence):
        parts.append(f"<p class='note'>{e(text('report.sensitivity.legend', lang))}</p>")
    return "".join(parts)


def _diagram(model: Model, lang: str) -> str:
    from hatinh_sd import diagram

    e = html.escape
    graphs = {"overview": diagram.overview_graph(model, lang)}
    for sector in diagram.sectors(model):
        graphs[sector] = diagram.sector_graph(model, sector, lang)
    drawn, used = {}, []
    try:
        for name, g in graphs.items():
            drawn[name], renderer = diagram.render_with(g, "svg")
            if renderer not in used:
                used.append(renderer)
    except diagram.NoRenderer as exc:  # the rest of the report stands
        reason = text("report.diagram.unavailable", lang, reason="; ".join(exc.failures))
        return f"<p class='note'>{e(reason)}</p>"

    def img(name: str) -> str:
        return _img(base64.b64encode(drawn[name]).decode("ascii"), name, "image/svg+xml", "diagram")

    renderer = text("report.diagram.renderer", lang, renderer=" + ".join(used))
    parts = [
        f"<p>{e(text('report.diagram.intro', lang))}</p>",
        f"<p class='note'>{e(renderer)}</p>",
        img("overview"),
        f"<h3>{e(text('report.diagram.sectors', lang))}</h3>",
    ]
    for sector in diagram.sectors(model):
        label = diagram.sector_label(sector, lang)
        parts.append(f"<details><summary>{e(label)}</summary>{img(sector)}</details>")
    return "".join(parts)


# --------------------------------------------------------------------- report
_STYLE = """
body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:auto;padding:0 16px;color:#1d2733}
h1{font-size:24px}h2{border-bottom:2px solid #1f4e79;padding-bottom:3px;margin-top:36px}
table.t{border-collapse:collapse;font-size:13px;margin:8px 0}
table.t td,table.t th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
table.t th{background:#eef3f8}
table.small{font-size:11px}
td.met{background:#e2f0d9}td.missed{background:#fbe4e4}
td.group{background:#f4f4f4;font-weight:bold}td.default{color:#999;text-align:center}
.disclaimer{background:#fff4d6;border-left:5px solid #e6a700;padding:8px 12px;font-weight:bold}
.na{color:#8a4b00;font-style:italic}.note{color:#555;font-size:12px}
img.chart{max-width:100%;margin:4px}img.diagram{max-width:100%;border:1px solid #ddd}
figure{display:inline-block;margin:4px;vertical-align:top}
span.lever{color:#1f77b4}span.unc{color:#c55a00}
nav ol{columns:2}
"""


def build_report(
    model: Model,
    scenario_names: Sequence[str],
    *,
    lang: str = "en",
    outputs: Path | str = "outputs",
) -> str:
    """The report as one HTML document (a string).

    Parameters
    ----------
    model : Model
    scenario_names : sequence of str
        Scenario names (``scenarios/<name>.yaml``) or YAML paths; all are
        loaded and checked before anything runs.
    lang : {"vi", "en"}
    outputs : path
        Folder searched for ``uncertainty/<scenario>/bands.nc`` and
        ``sensitivity/<config>/indices.csv``.

    Raises
    ------
    HatinhInputError
        An unknown or invalid scenario (listing the available ones), a
        language that is not ``vi`` or ``en``, or no scenario at all.
    """
    from hatinh_sd.calibration import (
        comparable_observed,
        fine_times,
        fit_table,
        load_setup,
        model_fit,
    )
    from hatinh_sd.compare import target_table
    from hatinh_sd.data import load_observed, load_targets
    from hatinh_sd.scenarios import load_catalogue, load_scenario, run_scenario
    from hatinh_sd.targets import PLAN_TARGETS

    if lang not in LANGUAGES:
        raise HatinhInputError(
            f"unknown language '{lang}'; choose one of {', '.join(LANGUAGES)}", key="--lang"
        )
    if not scenario_names:
        raise HatinhInputError("name at least one scenario", key="--scenarios")
    if len(set(scenario_names)) != len(scenario_names):
        raise HatinhInputError("a scenario is named twice", key="--scenarios")
    e = html.escape
    outputs = Path(outputs)
    cat = load_catalogue(model=model)
    scenarios = [load_scenario(n, model=model, catalogue=cat) for n in scenario_names]
    setup = load_setup(model)
    targets, observed = load_targets(), comparable_observed(load_observed(), setup)
    runs = {s.name: run_scenario(s, model) for s in scenarios}
    names = list(runs)
    card = target_table(runs, targets)
    bands = find_bands(model, names, outputs)
    sens = find_sensitivity(model, outputs)
    obs, values = model_fit(model, setup)
    fit = fit_table(obs, values)

    sections: dict[str, str] = {}
    sections["scorecard"] = _scorecard(card, names, lang)

    shown = [n for n, ev in bands.items() if ev.current]
    stale = [n for n, ev in bands.items() if not ev.current]
    notes = []
    if shown:
        notes.append(("note", text("report.targets.bands_shown", lang, scenarios=", ".join(shown))))
        from hatinh_sd.uncertainty import describe_draws

        for name in shown:
            attrs = bands[name].data.attrs
            share = attrs.get("history_consistent_share")
            notes.append(
                (
                    "note",
                    text(
                        "report.targets.bands_how",
                        lang,
                        scenario=name,
                        how=describe_draws(attrs, lang),
                        share="-" if share is None else f"{100 * float(share):.0f}",
                    ),
                )
            )
    if stale:
        notes.append(
            (
                "na",
                text(
                    "report.targets.bands_stale",
                    lang,
                    scenarios=", ".join(stale),
                    new=model.hash[:12],
                ),
            )
        )
    missing = [n for n in names if n not in bands]
    if missing:
        notes.append(
            (
                "na",
                text(
                    "report.targets.bands_none",
                    lang,
                    scenarios=", ".join(missing),
                    path=str(outputs / "uncertainty"),
                ),
            )
        )
    charts = "".join(
        f"<figure id='chart-{tid}'>"
        + _img(_target_chart(runs, tid, lang, targets, observed, bands), f"{tid}")
        + "</figure>"
        for tid in PLAN_TARGETS
    )
    sections["targets"] = (
        f"<p>{e(text('report.targets.intro', lang))}</p>"
        + "".join(f"<p class='{cls}'>{e(n)}</p>" for cls, n in notes)
        + charts
    )

    fit_rows = [
        [e(str(r["series"])), e(str(r["years"])), str(int(r["n"]))]
        + [_num(float(r[c]), lang) for c in ("mape", "rmse", "r2", "um", "us", "uc")]
        + [e(str(r["sources"]))]
        for _, r in fit.iterrows()
    ]
    fit_header = [
        e(text(f"report.fit.col.{c}", lang))
        for c in ("series", "years", "n", "mape", "rmse", "r2", "um", "us", "uc", "sources")
    ]
    from hatinh_sd.calibration import DERIVED

    variables = sorted(
        {s.variable for s in setup.series.values() if s.variable not in DERIVED}
        | {"share_services", "share_product_taxes", "labour_force", "population_15_plus"}
    )
    fine = model.run(outputs=variables, times=fine_times(model))
    fit_charts = "".join(
        "<figure>" + _img(_png(fit_figure(setup, obs, values, fine, ind, lang)), ind) + "</figure>"
        for ind in setup.series
        if (obs.indicator == ind).any()
    )
    from hatinh_sd.validation import estimates_table

    est = estimates_table(model, setup)
    est_html = ""
    if est is not None:
        est_html = (
            f"<h3>{e(text('report.est.title', lang))}</h3><p>{e(text('report.est.intro', lang))}</p>"
            + _table(
                [
                    e(text(f"report.est.col.{c}", lang))
                    for c in ("parameter", "point", "se", "interval", "range")
                ],
                [
                    [
                        e(r["parameter"]),
                        _num(r["point estimate"], lang),
                        _num(r["standard error"], lang),
                        f"{_num(r['posterior 5 %'], lang)} – {_num(r['posterior 95 %'], lang)}",
                        e(r["search range"]),
                    ]
                    for r in est.to_dict("records")
                ],
                "t est",
            )
        )
    sections["calibration"] = (
        f"<p>{e(text('report.calibration.intro', lang, n=int(obs['used'].sum())))}</p>"
        + _table(fit_header, fit_rows, "t fit")
        + est_html
        + f"<h3>{e(text('report.fit.charts', lang))}</h3>"
        + fit_charts
    )
    sections["sensitivity"] = _sensitivity(sens, lang, model)
    sections["levers"] = _levers(model, scenarios, lang)
    sections["assumptions"] = _assumptions(model, lang)
    sections["diagram"] = _diagram(model, lang)
    sections["limitations"] = (
        f"<p class='note'>{e(text('report.limitations.intro', lang))}</p><ul>"
        + "".join(
            f"<li>{_inline_md(item)}"
            + (
                "<ul>" + "".join(f"<li>{_inline_md(s)}</li>" for s in subs) + "</ul>"
                if subs
                else ""
            )
            + "</li>"
            for item, subs in limitations()
        )
        + "</ul>"
    )

    title = text("report.title", lang)
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    meta = text(
        "report.meta",
        lang,
        scenarios=", ".join(names),
        model=model.mdl_path.name,
        hash=model.hash[:12],
        calibration=model.calibration_hash[:12] or "–",
        commit=model.git_commit,
        created=created,
    )
    disclaimer = text("report.disclaimer", lang)
    toc = "".join(
        f"<li><a href='#{s}'>{e(text(f'report.section.{s}', lang))}</a></li>" for s in SECTIONS
    )
    body = "".join(
        f"<section id='{s}'><h2>{e(text(f'report.section.{s}', lang))}</h2>{sections[s]}</section>"
        for s in SECTIONS
    )
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{e(title)}</h1><p class='note'>{e(meta)}</p>"
        f"<p class='disclaimer' id='disclaimer'>{e(disclaimer)}</p>"
        f"<nav><h2>{e(text('report.contents', lang))}</h2><ol>{toc}</ol></nav>"
        f"{body}<hr><p class='disclaimer'>{e(disclaimer)}</p></body></html>"
    )


def write_report(
    model: Model,
    scenario_names: Sequence[str],
    path: Path | str,
    *,
    lang: str = "en",
    outputs: Path | str = "outputs",
) -> Path:
    """Build the report (:func:`build_report`) and write it to ``path`` atomically."""
    doc = build_report(model, scenario_names, lang=lang, outputs=outputs)
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
        tmp.chmod(0o644)  # a document to share, not a private temporary file
    return path
