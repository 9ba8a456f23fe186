"""The bilingual scenario report: one self-contained HTML file for planners.

:func:`build_report` runs the chosen scenarios and assembles, with every
heading, label, unit and note in Vietnamese or English (model names, units and
notes from :mod:`hatinh_sd.vocabulary`, scenario titles from their YAML):

1. a one-page summary: the scorecard, the probabilities, the costs and three
   key messages generated from the numbers;
2. the scorecard of targets T01-T12 across the scenarios;
3. the probability of meeting each target, where ``hatinh-sd uncertainty``
   results for the current model exist (its ``probabilities.csv``: the same
   figures the command prints);
4. costs and financing: investment by source, ICOR and the model's budget check
   (:func:`hatinh_sd.compare.investment_table`, as ``hatinh-sd compare``);
5. one chart per target indicator (scenarios, observed history, the 2030
   target and percentile bands where they exist);
6. the calibration fit table, estimates and fitted-vs-observed charts;
7. sensitivity rankings, where ``hatinh-sd sensitivity`` results exist;
8. the lever settings of each scenario;
9. the assumptions register (generated from the ``.mdl``);
10. the model diagram (drawn from the ``.mdl`` by :mod:`hatinh_sd.diagram`);
11. the known limitations;

and states that this is a planning model, not a forecast. Images are embedded
as base64 ``data:`` URIs, so the file opens without network access; an A4
print stylesheet (page numbers, the summary alone on the first page) serves
:mod:`hatinh_sd.documents`. :func:`write_report` writes it atomically.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import pandas as pd
import xarray as xr

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import LANGUAGES, number, text
from hatinh_sd.model import Model
from hatinh_sd.results import atomic_file, is_current, joined_name
from hatinh_sd.targets import target_label
from hatinh_sd.templating import Markup, render
from hatinh_sd.vocabulary import label, note, unit

if TYPE_CHECKING:
    from hatinh_sd.calibration import CalibrationSetup
    from hatinh_sd.store import Store

__all__ = [
    "SECTIONS",
    "Evidence",
    "build_report",
    "find_bands",
    "find_probabilities",
    "find_sensitivity",
    "limitations",
    "report_name",
    "write_report",
]

#: Section ids of the report, in order (each has a heading ``report.section.<id>``).
SECTIONS = (
    "summary",
    "scorecard",
    "probability",
    "costs",
    "targets",
    "calibration",
    "sensitivity",
    "levers",
    "assumptions",
    "diagram",
    "limitations",
)

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
    from hatinh_sd.store import Store

    store, found = Store(outputs), {}
    for name in scenarios:
        stored = store.bands(model, name)
        if stored is not None:
            bands, current = stored
            h = str(bands.attrs.get("model_sha256", ""))
            found[name] = Evidence(store.bands_path(name), current, h, bands)
    return found


def find_probabilities(bands: Mapping[str, Evidence]) -> dict[str, pd.DataFrame]:
    """``probabilities.csv`` beside each current ``bands.nc`` (what ``hatinh-sd uncertainty``
    printed for that scenario)."""
    found = {}
    for name, ev in bands.items():
        path = ev.path.parent / "probabilities.csv"
        if ev.current and path.exists():
            found[name] = pd.read_csv(path, encoding="utf-8-sig")
    return found


def find_sensitivity(model: Model, outputs: Path) -> list[Evidence]:
    """Sensitivity indices of ``hatinh-sd sensitivity`` runs under ``outputs/sensitivity/``.

    Each folder with an ``indices.csv`` counts; the method is ``sobol`` when
    the table has ``ST``, else ``morris`` (``mu_star``); the model hash comes
    from ``ensemble.nc``'s attributes.
    """
    from hatinh_sd.sensitivity import METHODS
    from hatinh_sd.store import Store

    found = []
    for path, current, h, table in Store(outputs).sensitivity(model):
        # the method whose ranking index the table has (ST: Sobol, mu_star: Morris)
        ranked = [m.name for m in METHODS.values() if m.main_index in table.columns]
        if len(ranked) != 1 or not {"output", "factor"} <= set(table.columns):
            continue
        found.append(Evidence(path, current, h, (ranked[0], table)))
    return found


# --------------------------------------------------------------------- charts
def _img(data: str, alt: str, mime: str = "image/png", cls: str = "chart", graph: str = "") -> str:
    extra = f" data-graph='{html.escape(graph)}'" if graph else ""
    return f"<img class='{cls}'{extra} alt='{html.escape(alt)}' src='data:{mime};base64,{data}'/>"


def _target_chart(
    runs: Mapping[str, xr.Dataset],
    tid: str,
    lang: str,
    targets: pd.DataFrame,
    observed: pd.DataFrame,
    bands: Mapping[str, Evidence],
    titles: Mapping[str, str] | None = None,
) -> str:
    """A target chart of :mod:`hatinh_sd.charts` with the scenarios' uncertainty bands."""
    from hatinh_sd.charts import png_base64, target_figure
    from hatinh_sd.targets import indicator_series, indicator_variables

    titles = titles or {}
    fig = target_figure(runs, tid, lang=lang, targets=targets, observed=observed, titles=titles)
    ax = fig.axes[0]
    indicator = str(targets.set_index("target_id").at[tid, "indicator"])
    var = indicator_variables()[indicator]
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
                scenario=titles.get(name, name),
                low=f"{low:g}",
                high=f"{high:g}",
                runs=int(ev.data.attrs.get("n_runs", 0)),  # type: ignore[attr-defined]
            ),
        )
        added = True
    if added:
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return png_base64(fig)


# --------------------------------------------------------------------- text
def _inline_md(s: str) -> str:
    s = html.escape(s, quote=False)
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def limitations(lang: str = "en") -> list[tuple[str, list[str]]]:
    """The known limitations as (bullet, sub-bullets) in ``lang``
    (:func:`hatinh_sd.vocabulary.limitations`)."""
    from hatinh_sd import vocabulary

    return vocabulary.limitations(lang)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "t") -> str:
    """An HTML table (``templates/table.html``); cells are HTML already (escape before), a
    cell with its own ``<td ...>`` is used as it is."""
    return render(
        "table.html",
        cls=cls,
        header=[Markup(h) for h in header],
        rows=[[Markup(c) for c in r] for r in rows],
    )


def _num(x: float, lang: str) -> str:
    return number(x, lang)


# --------------------------------------------------------------------- sections
def _unit(unit: object, lang: str) -> str:
    """A unit of targets.csv in ``lang`` (the charts' unit labels)."""
    from hatinh_sd.charts import unit_label

    return unit_label(unit, lang)


def _target_text(first: pd.Series, lang: str) -> str:
    """``>= 170 (triệu đồng, 2030)``: a target with its unit and year."""
    return (
        f"{first['comparator']} {number(float(first['target']), lang)} "
        f"({_unit(first['unit'], lang)}, {int(first['year'])})"
    )


def _status_cell(r: pd.Series, name: str, lang: str, extra: str = "") -> str:
    e = html.escape
    status = text(f"scorecard.{r['status']}", lang)
    cls = "met" if r["met"] else "missed"
    return (
        f"<td class='{cls}' data-scenario='{e(name)}' data-id='{e(str(r['id']))}' "
        f"data-value='{float(r['value'])!r}'>{_num(r['value'], lang)} "
        f"<span class='status'>{'✓' if r['met'] else '✗'} {e(status)}</span>{extra}</td>"
    )


def _target_table(
    card: pd.DataFrame,
    columns: Sequence[str],
    cells: Callable[[str, pd.DataFrame], list[str]],
    lang: str,
    cls: str,
) -> str:
    """A table with a row per target (id, indicator, target) and the ``columns`` whose
    ``cells(target id, the target's rows of card)`` gives (HTML already)."""
    e = html.escape
    header = [e(text(f"report.col.{c}", lang)) for c in ("id", "indicator", "target")]
    rows = [
        [e(str(tid)), e(target_label(str(tid), lang)), e(_target_text(grp.iloc[0], lang))]
        + cells(str(tid), grp)
        for tid, grp in card.groupby("id", sort=False)
    ]
    return _table([*header, *columns], rows, cls)


def _probability_of(probs: Mapping[str, pd.DataFrame], name: str, tid: str) -> float | None:
    """Scenario ``name``'s probability of meeting target ``tid`` (``None`` when not computed)."""
    if name not in probs:
        return None
    sel = probs[name][probs[name]["id"] == tid]
    return None if sel.empty else float(sel["probability"].iloc[0])


def _scorecard(card: pd.DataFrame, names: list[str], titles: Mapping[str, str], lang: str) -> str:
    e = html.escape
    columns = [
        f"{e(titles[name])}<br>{e(text('report.col.value', lang, year=year))}"
        for name in names
        for year in (2030, 2050)
    ]

    def cells(tid: str, grp: pd.DataFrame) -> list[str]:
        out = []
        for name in names:
            r = grp[grp["scenario"] == name].iloc[0]
            out.append(_status_cell(r, name, lang))
            out.append(
                f"<td data-scenario='{e(name)}' data-id='{e(tid)}' "
                f"data-value-2050='{float(r['value_2050'])!r}'>{_num(r['value_2050'], lang)}</td>"
            )
        return out

    counts = "; ".join(
        text(
            "report.scorecard.count",
            lang,
            scenario=titles[name],
            met=int(card.loc[card["scenario"] == name, "met"].sum()),
            total=int((card["scenario"] == name).sum()),
        )
        for name in names
    )
    return (
        f"<p>{e(text('report.scorecard.intro', lang))}</p>"
        + _target_table(card, columns, cells, lang, "t scorecard")
        + f"<p>{e(counts)}</p>"
        + (  # the Action Programme's T05 contradicts its own T02 and T04
            f"<p class='note'>{e(text('scorecard.note_T05', lang))}</p>"
            if "T05" in set(card["id"])
            else ""
        )
    )


def _percent(p: float, lang: str) -> str:
    """A probability as ``hatinh-sd uncertainty`` prints it (one decimal), in ``lang``."""
    return f"{number(100 * float(p), lang, digits=1)} %"


def _probability(
    card: pd.DataFrame,
    names: list[str],
    titles: Mapping[str, str],
    probs: Mapping[str, pd.DataFrame],
    bands: Mapping[str, Evidence],
    model: Model,
    outputs: Path,
    lang: str,
) -> str:
    """The probability of meeting each target, from the current uncertainty ensembles."""
    from hatinh_sd.uncertainty import check_labels, describe_deviations, describe_draws

    e = html.escape
    parts = [f"<p>{e(text('report.probability.intro', lang))}</p>"]
    shown = [n for n in names if n in probs]
    for name in shown:
        attrs = bands[name].data.attrs  # type: ignore[attr-defined]
        share = attrs.get("history_consistent_share")
        checks = json.loads(str(attrs.get("history_checks", "[]")))
        described = (
            check_labels(checks, model, lang)
            if all(isinstance(c, dict) for c in checks)
            else "; ".join(map(str, checks))
        )
        parts.append(
            "<p class='note'>"
            + e(
                text(
                    "report.probability.how" if checks else "report.probability.how_plain",
                    lang,
                    scenario=titles[name],
                    runs=number(int(attrs.get("n_runs", 0)), lang),
                    how=describe_draws(attrs, lang),
                    share="–" if share is None else number(100 * float(share), lang, digits=1),
                    checks=described,
                )
            )
            + f" <code>{e(str(bands[name].path.parent / 'probabilities.csv'))}</code></p>"
        )
        deviations = json.loads(str(attrs.get("history_deviations", "[]")))
        if deviations and all(isinstance(r, dict) for r in deviations):
            parts.append(
                "<p class='note'>"
                + e(
                    text(
                        "report.probability.deviations",
                        lang,
                        deviations=describe_deviations(deviations, model, lang),
                    )
                )
                + "</p>"
            )
    if shown:

        def cells(tid: str, _grp: pd.DataFrame) -> list[str]:
            out = []
            for name in shown:
                p = _probability_of(probs, name, tid)
                out.append(
                    "–"
                    if p is None
                    else f"<td class='prob' data-scenario='{e(name)}' data-id='{e(tid)}' "
                    f"data-probability='{p!r}'>{_percent(p, lang)}</td>"
                )
            return out

        columns = [e(titles[n]) for n in shown]
        parts.append(_target_table(card, columns, cells, lang, "t probability"))
    stale = [titles[n] for n in names if n in bands and not bands[n].current]
    if stale:
        parts.append(
            "<p class='na'>"
            + e(
                text(
                    "report.targets.bands_stale",
                    lang,
                    scenarios="; ".join(stale),
                    new=model.hash[:12],
                )
            )
            + "</p>"
        )
    missing = [
        titles[n] for n in names if n not in probs and not (n in bands and not bands[n].current)
    ]
    if missing:
        parts.append(
            "<p class='na'>"
            + e(text("report.targets.bands_none", lang, scenarios="; ".join(missing)))
            + f" <code>{e(str(outputs / 'uncertainty'))}</code></p>"
        )
    return "".join(parts)


#: Columns of the costs table (keys of :func:`hatinh_sd.compare.investment_table`) and decimals.
COST_COLUMNS = {
    "total": 1,
    "state": 1,
    "private": 1,
    "fdi": 1,
    "icor": 2,
    "state_share_grdp": 1,
}


def _cost_cell(r: pd.Series, col: str, lang: str) -> str:
    value = float(r[col])
    return (
        f"<td class='num' data-scenario='{html.escape(str(r['scenario']))}' "
        f"data-period='{r['period']}' data-cost='{col}' data-value='{value!r}'>"
        f"{number(value, lang, digits=COST_COLUMNS[col])}</td>"
    )


def _costs_table(
    invest: pd.DataFrame, titles: Mapping[str, str], lang: str, periods: Sequence[str] | None = None
) -> str:
    e = html.escape
    header = [e(text("compare.col.scenario", lang)), e(text("compare.col.period", lang))]
    header += [e(text(f"compare.col.{c}", lang)) for c in COST_COLUMNS]
    header.append(e(text("compare.col.over_budget", lang)))
    rows = []
    for _, r in invest.iterrows():
        if periods and r["period"] not in periods:
            continue
        flag = text("compare.over" if r["over_budget"] else "compare.within", lang)
        rows.append(
            [e(titles[str(r["scenario"])]), e(str(r["period"]))]
            + [_cost_cell(r, c, lang) for c in COST_COLUMNS]
            + [
                f"<td class='{'missed' if r['over_budget'] else 'met'}'>{e(flag)} "
                f"({number(float(r['budget_unpaid']), lang, digits=1)} %)</td>"
            ]
        )
    return _table(header, rows, "t costs")


def _costs(invest: pd.DataFrame, titles: Mapping[str, str], lang: str) -> str:
    from hatinh_sd.compare import BUDGET_SHORTFALL

    e = html.escape
    return (
        f"<p>{e(text('report.costs.intro', lang))}</p>"
        + _costs_table(invest, titles, lang)
        + "<p class='note'>"
        + e(text("compare.budget_note", lang, share=number(100 * BUDGET_SHORTFALL, lang)))
        + "</p>"
    )


def key_messages(
    card: pd.DataFrame,
    invest: pd.DataFrame | None,
    names: list[str],
    titles: Mapping[str, str],
    lang: str,
) -> list[str]:
    """Three messages generated from the numbers: targets met, the widest gap, financing
    (when the model has the investment accounts, ``invest``)."""
    met = {n: int(card.loc[card["scenario"] == n, "met"].sum()) for n in names}
    total = int((card["scenario"] == names[0]).sum())
    best = max(names, key=lambda n: (met[n], -names.index(n)))
    m1 = text(
        "report.summary.met",
        lang,
        results="; ".join(
            text("report.summary.met_one", lang, scenario=titles[n], met=met[n], total=total)
            for n in names
        ),
    )
    rows = card[(card["scenario"] == best) & ~card["met"]].copy()
    if rows.empty:
        m2 = text("report.summary.all_met", lang, scenario=titles[best])
    else:
        rows["rel"] = (rows["value"] - rows["target"]).abs() / rows["target"].abs().clip(lower=1e-9)
        r = rows.sort_values("rel", ascending=False).iloc[0]
        m2 = text(
            "report.summary.gap",
            lang,
            scenario=titles[best],
            id=r["id"],
            indicator=target_label(r["id"], lang),
            value=number(float(r["value"]), lang),
            target=f"{r['comparator']} {number(float(r['target']), lang)}",
            unit=_unit(r["unit"], lang),
        )
    if invest is None:
        return [m1, m2]
    first = invest[invest["period"] == invest["period"].iloc[0]].set_index("scenario")
    period = str(invest["period"].iloc[0])
    last = names[-1]
    r = first.loc[last]
    m3 = text(
        "report.summary.finance",
        lang,
        scenario=titles[last],
        period=period,
        total=number(float(r["total"]), lang, digits=1),
        state=number(float(r["state"]), lang, digits=1),
        icor=number(float(r["icor"]), lang, digits=2),
        share=number(float(r["state_share_grdp"]), lang, digits=1),
        unpaid=number(float(r["budget_unpaid"]), lang, digits=1),
        verdict=text("report.summary.over" if r["over_budget"] else "report.summary.within", lang),
    )
    if len(names) > 1:
        diff = float(r["total"]) - float(first.loc[names[0], "total"])
        m3 += " " + text(
            "report.summary.versus",
            lang,
            diff=number(abs(diff), lang, digits=1),
            direction=text("report.summary.more" if diff >= 0 else "report.summary.less", lang),
            scenario=titles[names[0]],
        )
    return [m1, m2, m3]


def _summary(
    card: pd.DataFrame,
    invest: pd.DataFrame | None,
    probs: Mapping[str, pd.DataFrame],
    names: list[str],
    titles: Mapping[str, str],
    lang: str,
) -> str:
    """The one-page summary: key messages, targets (value, status, probability), costs."""
    e = html.escape
    messages = key_messages(card, invest, names, titles, lang)

    def cells(tid: str, grp: pd.DataFrame) -> list[str]:
        out = []
        for name in names:
            r = grp[grp["scenario"] == name].iloc[0]
            p = _probability_of(probs, name, tid)
            extra = (
                ""
                if p is None
                else f"<br><span class='prob' data-probability='{p!r}'>"
                f"{e(text('report.summary.p', lang, p=_percent(p, lang)))}</span>"
            )
            out.append(_status_cell(r, name, lang, extra))
        return out

    costs = ""
    if invest is not None:
        first_period = str(invest["period"].iloc[0])
        costs = (
            f"<p class='note'>{e(text('report.summary.costs', lang, period=first_period))}</p>"
            + _costs_table(invest, titles, lang, [first_period])
        )
    return (
        "<ol class='messages'>"
        + "".join(f"<li>{e(m)}</li>" for m in messages)
        + "</ol>"
        + _target_table(
            card, [e(titles[n]) for n in names], cells, lang, "t scorecard summary-card"
        )
        + costs
        + f"<p class='note'>{e(text('report.summary.note', lang))}</p>"
    )


def _levers(model: Model, scenarios: list, lang: str) -> str:  # noqa: C901
    from hatinh_sd.scenarios import Ramp, Step, load_catalogue

    e = html.escape
    cat = load_catalogue(model=model)
    names = list(cat.levers) + [t for t in cat.timing_of if any(t in s.levers for s in scenarios)]
    header = [
        e(text(f"report.levers.col.{c}", lang)) for c in ("lever", "unit", "range", "default")
    ]
    header += [e(getattr(s.title, lang)) for s in scenarios]
    body = []
    for group, tg in cat.task_groups.items():
        members = [n for n in names if cat.parameters[n].group == group]
        title = getattr(tg.title, lang)
        span = len(header)
        body.append(
            [
                f"<td colspan='{span}' class='group'>"
                f"{e(text('report.levers.group', lang, group=group, title=title))}</td>"
            ]
        )
        if not members:
            why = tg.outside_boundary
            body.append(
                [f"<td colspan='{span}' class='note'>{e(getattr(why, lang) if why else '–')}</td>"]
            )
        for n in members:
            p = cat.parameters[n]
            row = [
                f"<td data-lever='{e(n)}'>{e(cat.label(n, lang))}</td>",
                e(unit(p.units, lang)),
                f"[{number(p.low, lang)}; {number(p.high, lang)}]"
                if lang == "vi"
                else f"[{p.low:g}, {p.high:g}]",
                number(p.default, lang) if lang == "vi" else f"{p.default:g}",
            ]
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
                                value=number(spec.value, lang),
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
                                value=number(spec.value, lang),
                                start=f"{spec.from_:g}",
                                end=f"{spec.to:g}",
                            )
                        )
                    )
                else:
                    row.append(number(float(spec), lang))
            body.append(row)
    titles = "".join(
        f"<li><strong>{e(getattr(s.title, lang))}</strong>. "
        f"{e(getattr(s.description, lang))} <em>({e(s.cites)})</em></li>"
        for s in scenarios
    )
    return f"<ul>{titles}</ul><p>{e(text('report.levers.intro', lang))}</p>" + _table(
        header, body, "t levers"
    )


def _value(x: float, unit_: str, lang: str) -> str:
    """A constant in ``lang``; calendar years without a thousands separator."""
    if unit_ == "Year" and 1900 <= x <= 2200:
        shown = f"{x:g}"
        return shown.replace(".", ",") if lang == "vi" else shown
    return number(x, lang)


def source_keys(comment: str, known: set[str]) -> list[str]:
    """The source keys of ``model/data/sources.csv`` a comment cites, in order."""
    found = []
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9_-]*", comment):
        if token in known and token not in found:
            found.append(token)
    return found


def _assumptions(model: Model, lang: str) -> str:
    from hatinh_sd.data import load_sources
    from hatinh_sd.modeldoc import assumptions

    e = html.escape
    known = set(load_sources()["key"].astype(str))
    rows = []
    for a in assumptions(model):
        role = (
            text("report.role.lever", lang, group=a.group)
            if a.role == "lever"
            else text(f"report.role.{a.role}", lang)
        )
        rng = (
            f"[{_value(a.low, a.unit, lang)}; {_value(a.high, a.unit, lang)}]"
            if a.low is not None and a.high is not None
            else ""
        )
        shown = note(a.name, a.comment, lang)
        if shown is None:
            shown = text("report.assumptions.untranslated", lang)
        rows.append(
            [
                f"<td data-name='{e(a.name)}'>{e(label(a.name, lang))}</td>",
                _value(a.value, a.unit, lang),
                e(unit(a.unit, lang)),
                rng,
                e(role),
                e(", ".join(source_keys(a.comment, known)) or "–"),
                e(shown),
            ]
        )
    header = [
        e(text(f"report.assumptions.col.{c}", lang))
        for c in ("parameter", "value", "unit", "range", "role", "keys", "source")
    ]
    return f"<p>{e(text('report.assumptions.intro', lang, n=len(rows)))}</p>" + _table(
        header, rows, "t small assumptions"
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
            f"<h3><code>{e(config)}</code></h3>"
            f"<p>{e(text(f'report.sensitivity.intro_{method}', lang, k=TOP_FACTORS))}</p>"
        )
        outputs = [o for o in table["output"].unique() if not str(o).endswith("_every_year")]
        rows = []
        for out in outputs:
            first = table.loc[table["output"] == out].iloc[0]
            tid = first.get("target")  # the target an output measures ("" or NaN: none)
            if isinstance(tid, str) and tid and pd.notna(first.get("year")):
                shown = f"{tid} {int(first['year'])}: {target_label(tid, lang)}"
            else:  # another output: the model variable's label
                shown = label(model.real_name(str(first["variable"])), lang)
            top = top_factors(table, method, out, TOP_FACTORS)
            cells = [
                f"{e(label(str(r.factor), lang))} <span class='{'lever' if r.group == 'lever' else 'unc'}'>({_num(getattr(r, key), lang)})</span>"
                for r in top.itertuples()
            ]
            rows.append([e(shown)] + cells + [""] * (TOP_FACTORS - len(cells)))
        header = [e(text("report.sensitivity.col.output", lang))] + [
            e(text("report.sensitivity.col.rank", lang, rank=i + 1)) for i in range(TOP_FACTORS)
        ]
        parts.append(_table(header, rows, "t small"))
    if any(ev.current for ev in evidence):
        parts.append(f"<p class='note'>{e(text('report.sensitivity.legend', lang))}</p>")
    return "".join(parts)


class _TopLoop(Protocol):
    """A row of ``hatinh-sd loops``' ``top.csv`` (read with ``keep_default_na=False``)."""

    loop: str
    named: str  # "" for a loop without a name
    polarity: str
    mean_abs_score: float


def _boxes(model: Model, folder: Path, lang: str) -> list[str]:
    """The sentences of ``hatinh-sd discover``'s boxes in ``folder`` (``boxes.csv``), in
    ``lang``."""
    from hatinh_sd.discover import Box, describe_box

    with xr.open_dataset(folder / "runs.nc") as runs:
        target = str(runs.attrs.get("target", ""))
    table = pd.read_csv(folder / "boxes.csv", encoding="utf-8-sig")
    out = []
    for number_, rows in table.groupby("box", sort=True):
        first = rows.iloc[0]
        box = Box(
            number=int(cast(int, number_)),  # the column "box" holds whole numbers
            trajectory_id=-1,
            coverage=float(first["coverage"]),
            density=float(first["density"]),
            mass=float(first["mass"]),
            runs=int(first["runs"]),
            runs_meeting=int(first["runs_meeting"]),
            dense_enough=bool(first["dense_enough"]),
            limits=rows[
                ["dimension", "low", "high", "restricted_low", "restricted_high"]
            ].reset_index(drop=True),
        )
        dims = [str(d) for d in rows["dimension"]]
        labels = {d: label(d, lang) for d in dims}
        units = {
            d: unit(str(u), lang) if str(u) not in ("nan", "Dmnl") else ""
            for d, u in zip(dims, rows["unit"])
        }
        years = {d for d, u in zip(dims, rows["unit"]) if str(u) == "Year"}
        out.append(describe_box(box, target, lang, labels=labels, units=units, years=years).strip())
    return out


def _drivers(model: Model, names: list[str], outputs: Path, lang: str) -> str:
    """Lever effects, loop dominance, discovery boxes and robust lever mixes, from the
    results of ``hatinh-sd effects``, ``loops``, ``discover`` and ``robust`` under
    ``outputs/`` computed with the current model (older ones are named, not shown)."""
    e = html.escape
    parts: list[str] = []
    stale: list[str] = []
    # lever effects under uncertainty (the first scenario that has them)
    for name in names:
        folder = outputs / "effects" / name
        current = is_current(model, folder / "effects.nc")
        if current is None:
            continue
        if not current:
            stale.append(str(folder))
            break
        table = pd.read_csv(folder / "effects.csv", encoding="utf-8-sig")
        table = table[(table["year"] == table["year"].min()) & (table["rank"] <= 3)]
        rows = []
        for tid, group in table.groupby("target", sort=True):
            cells = [
                f"{e(label(str(r.lever), lang))}: {_num(r.median_effect, lang)} "
                f"[{_num(r.p05_effect, lang)}; {_num(r.p95_effect, lang)}], "
                f"{_percent(r.share_helps, lang)}"
                for r in group.sort_values("rank").itertuples()
            ]
            rows.append([e(f"{tid} {target_label(tid, lang)}")] + cells + [""] * (3 - len(cells)))
        parts.append(
            f"<h3>{e(text('report.drivers.effects', lang))}</h3>"
            f"<p>{e(text('report.drivers.effects_intro', lang, n=int(group['draws'].iloc[0]), year=int(table['year'].min())))}</p>"
            + _table(
                [e(text("report.sensitivity.col.output", lang))]
                + [e(text("report.sensitivity.col.rank", lang, rank=i + 1)) for i in range(3)],
                rows,
                "t small",
            )
        )
        break
    # loop dominance
    folder = outputs / "loops"
    current = is_current(model, folder / "about.json")
    if current:
        top = pd.read_csv(folder / "top.csv", keep_default_na=False)
        rows = []
        for focus, group in top.groupby("focus", sort=False):
            cells = []
            for r in cast("Iterator[_TopLoop]", group.sort_values("rank").itertuples()):
                shown = (
                    f"{r.named} {text('loops.name.' + r.named, lang)}"
                    if r.named
                    else f"{r.loop} ({r.polarity})"
                )
                cells.append(f"{e(shown)} ({_num(r.mean_abs_score, lang)})")
            rows.append([e(text(f"loops.focus.{focus}", lang)), "; ".join(cells)])
        parts.append(
            f"<h3>{e(text('report.drivers.loops', lang))}</h3>"
            f"<p>{e(text('report.drivers.loops_intro', lang))}</p>"
            + _table(
                [
                    e(text("report.drivers.col.outcome", lang)),
                    e(text("report.drivers.col.loops", lang)),
                ],
                rows,
                "t small",
            )
            + _img(
                base64.b64encode((folder / "loops.png").read_bytes()).decode("ascii"),
                text("report.drivers.loops", lang),
            )
        )
    elif current is False:
        stale.append(str(folder))
    # scenario discovery: PRIM's boxes, in plain language
    sentences = []
    for folder in sorted((outputs / "discover").glob("*")):
        current = is_current(model, folder / "runs.nc")
        if current is None or not (folder / "boxes.csv").exists():
            continue
        if not current:
            stale.append(str(folder))
            continue
        sentences += _boxes(model, folder, lang)
    if sentences:
        parts.append(
            f"<h3>{e(text('report.drivers.discover', lang))}</h3>"
            f"<p>{e(text('report.drivers.discover_intro', lang))}</p><ul>"
            + "".join(f"<li>{e(x)}</li>" for x in sentences)
            + "</ul>"
        )
    # robust lever mixes (Pareto fronts)
    for folder in sorted((outputs / "robust").glob("*")):
        current = is_current(model, folder / "about.json")
        if current is None:
            continue
        if not current:
            stale.append(str(folder))
            continue
        front = pd.read_csv(folder / "front.csv")
        ids = [c[2:] for c in front.columns if c.startswith("p_")]
        rows = [
            [e(str(r["point"]))]
            + [_percent(float(r[f"p_{t}"]), lang) for t in ids]
            + [number(float(r["cost"]), lang, digits=1)]
            for _, r in front.iterrows()
        ]
        parts.append(
            f"<h3>{e(text('report.drivers.robust', lang, targets=', '.join(ids)))}</h3>"
            f"<p>{e(text('report.drivers.robust_intro', lang))}</p>"
            + _table(
                [e(text("report.drivers.col.mix", lang))]
                + [e(text("report.drivers.col.probability", lang, target=t)) for t in ids]
                + [e(text("robust.cost_axis", lang))],
                rows,
                "t small",
            )
        )
    if stale:
        parts.append(
            f"<p class='na'>{e(text('report.drivers.stale', lang, folders=', '.join(stale)))}</p>"
        )
    if not parts:
        parts.append(f"<p class='na'>{e(text('report.drivers.none', lang))}</p>")
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
        alt = (
            text("diagram.overview_title", lang)
            if name == "overview"
            else diagram.sector_label(name, lang)
        )
        data = base64.b64encode(drawn[name]).decode("ascii")
        return _img(data, alt, "image/svg+xml", "diagram", diagram.slug(name))

    renderer = e(text("report.diagram.renderer", lang, renderer="\0")).replace(
        "\0", f"<code>{e(' + '.join(used))}</code>"
    )
    parts = [
        f"<p>{e(text('report.diagram.intro', lang))}</p>",
        f"<p class='note'>{renderer}</p>",
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
td.num,td.prob{text-align:right;white-space:nowrap}
td.met{background:#e2f0d9}td.missed{background:#fbe4e4}
td.group{background:#f4f4f4;font-weight:bold}td.default{color:#999;text-align:center}
.disclaimer{background:#fff4d6;border-left:5px solid #e6a700;padding:8px 12px;font-weight:bold}
.na{color:#8a4b00;font-style:italic}.note{color:#555;font-size:12px}
img.chart{max-width:100%;margin:4px}img.diagram{max-width:100%;border:1px solid #ddd}
figure{display:inline-block;margin:4px;vertical-align:top;max-width:100%}
span.lever{color:#1f77b4}span.unc{color:#c55a00}span.prob{color:#1f4e79;font-size:11px}
ol.messages li{margin:4px 0}
nav ol{columns:2}
#summary h2{margin-top:8px}
@page{size:A4;margin:14mm 12mm 16mm 12mm;
 @bottom-center{content:counter(page) " / " counter(pages);font-size:9pt;color:#555}}
@media print{
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 h1{font-size:17pt;margin:0 0 4pt}h2{font-size:13pt;margin-top:14pt}
 nav,.screen-only{display:none}
 #summary{break-after:page}
 #summary table.t{font-size:7pt}#summary table.t td,#summary table.t th{padding:1pt 2.5pt}
 #summary .note{font-size:7.5pt}#summary h1{font-size:15pt}#summary h2{margin-top:6pt}
 table.scorecard th:nth-child(1),table.probability th:nth-child(1){width:4.5%}
 table.scorecard th:nth-child(2),table.probability th:nth-child(2){width:22%}
 table.scorecard th:nth-child(3),table.probability th:nth-child(3){width:12%}
 table.costs th:nth-child(1){width:17%}
 #summary ol.messages{font-size:9pt;margin:4pt 0;padding-left:16pt}#summary p{margin:3pt 0}
 #summary .disclaimer{font-size:8pt;padding:3pt 6pt}
 section{break-before:page}#summary{break-before:auto}
 table.t{width:100%;table-layout:fixed;font-size:8pt}
 table.t td,table.t th{overflow-wrap:anywhere;word-break:break-word;padding:2pt 3pt}
 td.num,td.prob{white-space:normal}
 table.small{font-size:6.5pt}
 table.assumptions th:nth-child(1){width:17%}table.assumptions th:nth-child(2){width:7%}
 table.assumptions th:nth-child(3){width:10%}table.assumptions th:nth-child(4){width:9%}
 table.assumptions th:nth-child(5){width:8%}table.assumptions th:nth-child(6){width:9%}
 tr,img,figure{break-inside:avoid}thead{display:table-header-group}
 figure{display:block;margin:2pt 0}
 img.chart{max-width:100%;max-height:115mm}img.diagram{max-width:100%;max-height:240mm}
 details>*{display:block}
}
"""


def _meta(model: Model, titles: Mapping[str, str], lang: str) -> str:
    e = html.escape
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return text(
        "report.meta",
        lang,
        scenarios="; ".join(e(t) for t in titles.values()),
        model=f"<code>{e(model.mdl_path.name)}</code>",
        hash=f"<code>{model.hash[:12]}</code>",
        calibration=f"<code>{model.calibration_hash[:12] or '–'}</code>",
        commit=f"<code>{e(model.git_commit)}</code>",
        created=f"<code>{created}</code>",
    )


def _document(title: str, lang: str, head: str, body: str) -> str:
    """The page around the report (``templates/document.html``)."""
    return render(
        "document.html",
        lang=lang,
        viewport=True,
        title=title,
        style=Markup(_STYLE),
        body=Markup(head + body),
    )


def build_report(
    model: Model,
    scenario_names: Sequence[str],
    *,
    lang: str = "en",
    outputs: Path | str = "outputs",
    summary_only: bool = False,
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
        Folder searched for ``uncertainty/<scenario>/bands.nc`` (and its
        ``probabilities.csv``) and ``sensitivity/<config>/indices.csv``.
    summary_only : bool
        The one-page summary alone (title, summary, disclaimer).

    Raises
    ------
    HatinhInputError
        An unknown or invalid scenario (listing the available ones), a
        language that is not ``vi`` or ``en``, or no scenario at all.
    """
    from hatinh_sd.calibration import (
        comparable_observed,
        project_setup,
    )
    from hatinh_sd.compare import has_investment_accounts, investment_table, target_table
    from hatinh_sd.data import load_observed, load_targets
    from hatinh_sd.scenarios import load_catalogue, load_scenario, resolve_scenario, run_scenario
    from hatinh_sd.store import Store
    from hatinh_sd.targets import plan_targets

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
    setup = project_setup(model)  # None: a project without calibration
    targets, observed = load_targets(), comparable_observed(load_observed(), setup)
    store = Store(outputs)  # runs of `hatinh-sd run` are read back, not computed again
    runs = {
        s.name: store.run(model, s.name, resolve_scenario(s, model)) or run_scenario(s, model)
        for s in scenarios
    }
    names = list(runs)
    titles = {s.name: str(getattr(s.title, lang)) for s in scenarios}
    card = target_table(runs, targets)
    accounts = all(has_investment_accounts(ds) for ds in runs.values())
    invest = investment_table(runs) if accounts else None
    bands = find_bands(model, names, outputs)
    probs = find_probabilities(bands)

    title = text("report.title", lang)
    disclaimer = text("report.disclaimer", lang)
    summary = (
        f"<section id='summary'><h1>{e(title)}</h1>"
        f"<p class='note'>{_meta(model, titles, lang)}</p>"
        f"<h2>{e(text('report.section.summary', lang))}</h2>"
        + _summary(card, invest, probs, names, titles, lang)
        + f"<p class='disclaimer' id='disclaimer'>{e(disclaimer)}</p></section>"
    )
    if summary_only:
        return _document(title, lang, "", summary)

    sens = find_sensitivity(model, outputs)

    sections: dict[str, str] = {}  # the sections the project has, in the order of SECTIONS
    sections["scorecard"] = _scorecard(card, names, titles, lang)
    sections["probability"] = _probability(card, names, titles, probs, bands, model, outputs, lang)
    if invest is not None:
        sections["costs"] = _costs(invest, titles, lang)

    shown = [titles[n] for n, ev in bands.items() if ev.current]
    notes = []
    if shown:
        notes.append(("note", text("report.targets.bands_shown", lang, scenarios="; ".join(shown))))
    charts = "".join(
        f"<figure id='chart-{tid}'>"
        + _img(
            _target_chart(runs, tid, lang, targets, observed, bands, titles),
            f"{tid}: {target_label(tid, lang)}",
        )
        + "</figure>"
        for tid in plan_targets()
    )
    sections["targets"] = (
        f"<p>{e(text('report.targets.intro', lang))}</p>"
        + "".join(f"<p class='{cls}'>{e(n)}</p>" for cls, n in notes)
        + charts
    )

    if setup is not None:
        sections["calibration"] = _calibration(model, setup, lang, store)
    sections["sensitivity"] = _sensitivity(sens, lang, model) + _drivers(
        model, names, Path(outputs), lang
    )
    sections["levers"] = _levers(model, scenarios, lang)
    sections["assumptions"] = _assumptions(model, lang)
    sections["diagram"] = _diagram(model, lang)
    sections["limitations"] = _limitations(lang)
    shown_sections = [s for s in SECTIONS if s in sections]

    body = render(
        "report.html",
        summary=Markup(summary),
        contents=text("report.contents", lang),
        sections=[
            {
                "id": s,
                "title": text(f"report.section.{s}", lang),
                "html": Markup(sections.get(s, "")),
            }
            for s in ("summary", *shown_sections)
        ],
        disclaimer=disclaimer,
    )
    return _document(title, lang, "", body)


def _calibration(model: Model, setup: CalibrationSetup, lang: str, store: Store) -> str:
    """The calibration section: the fit table, the posterior estimates and the fit charts,
    from one run at the fine step (stored: the next report reads it back)."""
    import hashlib

    from hatinh_sd.calibration import (
        compare_with_observed,
        fine_times,
        fit_table,
        fit_variables,
        observations,
    )
    from hatinh_sd.charts import png_base64
    from hatinh_sd.charts.fit import fit_figure
    from hatinh_sd.data import load_observed

    e = html.escape
    variables = fit_variables(setup)
    fine = store.derived(
        model,
        "calibration_fit",
        lambda: model.run(outputs=variables, times=fine_times(model)),
        setup=hashlib.sha256(setup.path.read_bytes()).hexdigest(),
    )
    obs = observations(load_observed(), setup)
    values = compare_with_observed(fine, obs, setup)
    fit = fit_table(obs, values)
    fit_rows = [
        [
            f"<td data-series='{e(str(r['series']))}'>{e(text(f'series.{r.series}', lang))}</td>",
            e(str(r["years"])),
            str(int(r["n"])),
        ]
        + [_num(float(r[c]), lang) for c in ("mape", "rmse", "r2", "um", "us", "uc")]
        + [e(str(r["sources"]))]
        for _, r in fit.iterrows()
    ]
    fit_header = [
        e(text(f"report.fit.col.{c}", lang))
        for c in ("series", "years", "n", "mape", "rmse", "r2", "um", "us", "uc", "sources")
    ]

    fit_charts = "".join(
        "<figure>"
        + _img(
            png_base64(fit_figure(setup, obs, values, fine, ind, lang)), text(f"series.{ind}", lang)
        )
        + "</figure>"
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
                        f"<td data-name='{e(r['parameter'])}'>{e(label(r['parameter'], lang))}</td>",
                        _num(r["point estimate"], lang),
                        _num(r["standard error"], lang),
                        f"{_num(r['posterior 5 %'], lang)} – {_num(r['posterior 95 %'], lang)}",
                        e(_range_text(str(r["search range"]), lang)),
                    ]
                    for r in est.to_dict("records")
                ],
                "t est",
            )
        )
    return (
        f"<p>{e(text('report.calibration.intro', lang, n=int(obs['used'].sum())))}</p>"
        + _table(fit_header, fit_rows, "t fit")
        + est_html
        + f"<h3>{e(text('report.fit.charts', lang))}</h3>"
        + fit_charts
    )


def _limitations(lang: str) -> str:
    """The project's known limitations (its model README), in ``lang``."""
    e = html.escape
    return (
        f"<p class='note'>{e(text('report.limitations.intro', lang))}</p><ul>"
        + "".join(
            f"<li>{_inline_md(item)}"
            + (
                "<ul>" + "".join(f"<li>{_inline_md(s)}</li>" for s in subs) + "</ul>"
                if subs
                else ""
            )
            + "</li>"
            for item, subs in limitations(lang)
        )
        + "</ul>"
    )


def _range_text(rng: str, lang: str) -> str:
    """``[0.1, 0.5]`` written in ``lang``."""
    m = re.fullmatch(r"\[\s*([^,\]]+),\s*([^\]]+)\]", rng.strip())
    if not m or lang == "en":
        return rng
    try:
        low, high = float(m.group(1)), float(m.group(2))
    except ValueError:
        return rng
    return f"[{number(low, lang)}; {number(high, lang)}]"


def report_name(scenario_names: Sequence[str], lang: str, *, summary: bool = False) -> str:
    """The file stem of a report: the scenarios (shortened with a hash when long) and the
    language, so that reports of other scenario sets or languages never overwrite it."""
    from hatinh_sd.errors import check_name

    stems = [Path(n).stem if n.endswith((".yaml", ".yml")) else n for n in scenario_names]
    for s in stems:
        check_name(s, what="scenario name")
    return joined_name("summary" if summary else "report", [*stems, lang])


def write_report(
    model: Model,
    scenario_names: Sequence[str],
    path: Path | str,
    *,
    lang: str = "en",
    outputs: Path | str = "outputs",
    summary_only: bool = False,
) -> Path:
    """Build the report (:func:`build_report`) and write it to ``path`` atomically."""
    doc = build_report(model, scenario_names, lang=lang, outputs=outputs, summary_only=summary_only)
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
        tmp.chmod(0o644)  # a document to share, not a private temporary file
    return path
