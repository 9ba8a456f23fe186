"""The explorer's page: lever panel by task group, scorecard, charts, menus.

Every user-facing string is an element whose id names its catalogue key
(``{"type": "i18n", "key": ...}``) so that one callback can switch the
language of the whole page.
"""

from __future__ import annotations

from html import escape

from dash import dcc, html

from hatinh_sd import vocabulary
from hatinh_sd.app.explorer import EffectsView, Explorer
from hatinh_sd.app.logic import (
    CHART_ROW_HEIGHT,
    SCORE_COLUMNS,
    LeverControl,
    chart_rows,
    scorecard_cells,
    scorecard_rows,
)
from hatinh_sd.i18n import LANGUAGES, number, text
from hatinh_sd.scenarios import Catalogue
from hatinh_sd.targets import plan_targets, target_label

__all__ = [
    "CSS",
    "build_layout",
    "costs_table",
    "effects_table",
    "lever_id",
    "range_text",
    "slider_marks",
]

#: Page style (embedded in the page: the app serves no external files).
CSS = """
body { font-family: "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif; margin: 0; background: #f4f6f8; color: #1d2733; }
.hsd-header { background: #1f4e79; color: white; padding: 10px 18px; }
.hsd-header h1 { font-size: 21px; margin: 0 0 2px 0; }
.hsd-header p { margin: 0; font-size: 13px; opacity: 0.9; }
.hsd-toolbar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; padding: 8px 18px; background: white; border-bottom: 1px solid #d8dee4; font-size: 13px; }
.hsd-toolbar .hsd-scenario { width: 300px; }
.hsd-toolbar button, .hsd-upload { background: #eef3f8; border: 1px solid #9db4cc; border-radius: 4px; padding: 5px 10px; cursor: pointer; font-size: 13px; color: #1d2733; }
.hsd-toolbar button:hover, .hsd-upload:hover { background: #dde8f3; }
.hsd-lang label { margin-right: 8px; }
.hsd-messages { padding: 0 18px; font-size: 13px; }
.hsd-error { color: #a61b1b; font-weight: 600; }
.hsd-info { color: #1f4e79; }
.hsd-body { display: flex; gap: 14px; padding: 10px 18px; align-items: flex-start; }
.hsd-levers { width: 380px; flex: none; background: white; border: 1px solid #d8dee4; border-radius: 6px; padding: 8px 10px; max-height: calc(100vh - 150px); overflow-y: auto; position: sticky; top: 8px; }
.hsd-levers h2, .hsd-main h2 { font-size: 16px; margin: 4px 0; }
.hsd-hint { font-size: 11px; color: #5a6773; margin: 0 0 6px 0; }
.hsd-group { border-top: 1px solid #e3e8ed; padding: 4px 0; }
.hsd-group summary { font-weight: 600; font-size: 13px; cursor: pointer; padding: 3px 0; color: #1f4e79; }
.hsd-lever { padding: 4px 0 6px 0; border-bottom: 1px dotted #e7ebef; }
.hsd-lever-label { font-size: 12.5px; font-weight: 500; }
.hsd-range { font-size: 10.5px; color: #6b7782; }
.hsd-lever .dash-slider-container { margin-top: 2px; }
.hsd-year { width: 120px; font-size: 12px; }
.hsd-switch { font-size: 12px; }
.hsd-main { flex: 1; min-width: 0; }
.hsd-card { background: white; border: 1px solid #d8dee4; border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; }
.hsd-scorecard { border-collapse: collapse; width: 100%; font-size: 12.5px; }
.hsd-scorecard th { text-align: left; border-bottom: 2px solid #c9d3dd; padding: 3px 6px; font-weight: 600; }
.hsd-scorecard td { border-bottom: 1px solid #eef1f4; padding: 3px 6px; }
.hsd-scorecard td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hsd-met { color: #17663a; font-weight: 600; }
.hsd-missed { color: #a61b1b; font-weight: 600; }
.hsd-chart { background: white; border: 1px solid #d8dee4; border-radius: 6px; }
.hsd-legend { font-size: 12px; display: flex; gap: 16px; flex-wrap: wrap; margin: 2px 0 8px 0; }
.hsd-key { display: inline-block; width: 22px; height: 0; vertical-align: middle; margin-right: 5px; }
.hsd-summary { display: none; }
.hsd-effects-scroll { max-height: 360px; overflow-y: auto; }
.hsd-effects-scroll td.num { white-space: nowrap; }
.hsd-effects-choice { width: 160px; display: inline-block; vertical-align: middle; margin-left: 8px; }
#uncertainty label { color: #1d2733; }
"""


def lever_id(name: str, kind: str) -> dict:
    """The component id of a lever's control (``kind``: switch, year or slider)."""
    return {"type": "lever", "kind": kind, "name": name}


def t(key: str, lang: str, tag=html.Span, slot: str = "", **kwargs):
    """An element showing catalogue string ``key`` (switched with the language).

    ``slot`` tells apart several elements showing the same key.
    """
    return tag(text(key, lang), id={"type": "i18n", "key": key, "slot": slot}, **kwargs)


def costs_table(costs: dict, lang: str) -> html.Div:
    """The costs panel: investment of 2026-2030 by source, ICOR, the budget check and the
    public cost, with the labels and rounding of ``hatinh-sd compare`` (empty for a model
    without the investment accounts)."""
    from hatinh_sd.app.explorer import COST_COLUMNS
    from hatinh_sd.i18n import number

    if not costs:
        return html.Div()

    digits = {"icor": 2, "state_share_grdp": 1, "budget_unpaid": 1}
    rows = [
        html.Tr(
            [
                html.Td(text(f"compare.col.{c}", lang)),
                html.Td(number(float(costs[c]), lang, digits=digits.get(c, 1)), className="num"),
            ]
        )
        for c in COST_COLUMNS
    ]
    rows.append(
        html.Tr(
            [
                html.Td(text("app.costs.public", lang)),
                html.Td(number(float(costs["public_cost"]), lang, digits=1), className="num"),
            ]
        )
    )
    flag = text("compare.over" if costs["over_budget"] else "compare.within", lang)
    return html.Div(
        [
            html.P(text("app.costs.intro", lang)),
            html.Table(html.Tbody(rows), className="hsd-scorecard", id="costs-table"),
            html.P(
                [html.B(text("compare.col.over_budget", lang) + ": "), flag],
                className="missed" if costs["over_budget"] else "met",
                id="costs-budget",
            ),
        ]
    )


def _signed(value: float, lang: str) -> str:
    return ("+" if float(value) > 0 else "") + number(float(value), lang)


def effects_table(view: EffectsView, explorer: Explorer, lang: str) -> html.Div:
    """The lever-effects table of one target and year: each lever that moves it, ranked by
    its median effect over the draws, with the 90 % interval, the share of draws in which
    it helps and the share meeting the target at the bottom and top of its range (as
    ``hatinh-sd effects`` stored them), and where the figures come from."""
    if view.folder is None:
        notes = [text("app.effects.missing", lang)]
    else:
        draws = int(view.table["draws"].max()) if len(view.table) else 0
        title = explorer.scenario_title(str(view.scenario), lang)
        notes = [
            text("app.effects.source", lang, scenario=title, draws=draws),
            text("app.effects.matches" if view.matches else "app.effects.differs", lang),
        ]
    if view.stale:
        notes.append(text("app.effects.stale", lang, folders=", ".join(str(p) for p in view.stale)))
    parts: list = [html.P(" ".join(notes), id="effects-note", className="hsd-hint")]
    if view.folder is not None and view.table.empty:
        parts.append(html.P(text("app.effects.not_computed", lang, year=view.year)))
    elif view.folder is not None:
        first = view.table.iloc[0]
        u = str(first["unit"])
        target_unit = "" if u == "Dmnl" else vocabulary.unit(u, lang)
        effect_unit = text("effects.points", lang) if u == "percent" else target_unit
        heading = text(
            "effects.target",
            lang,
            target=f"{view.target} {target_label(view.target, lang)}",
            year=view.year,
            comparator=first["comparator"],
            value=number(float(first["target_value"]), lang),
            unit=f" {target_unit}" if target_unit else "",
        )
        moving = view.table[(view.table["share_helps"] + view.table["share_hurts"]) > 0]
        head = [
            "#",
            text("app.effects.col.lever", lang),
            text("app.effects.col.range", lang),
            text("app.effects.col.median", lang, unit=effect_unit or "–"),
            text("app.effects.col.interval", lang),
            text("app.effects.col.helps", lang),
            text("app.effects.col.met", lang),
        ]
        rows = []
        for r in moving.to_dict("records"):
            control = explorer.by_name[str(r["lever"])]
            met = (
                f"{number(100 * r['share_met_low'], lang, digits=0)} → "
                f"{number(100 * r['share_met_high'], lang, digits=0)}"
            )
            interval = f"{_signed(r['p05_effect'], lang)}; {_signed(r['p95_effect'], lang)}"
            cells = [
                (str(int(r["rank"])), "num"),
                (control.label[lang], ""),
                (range_text(control, lang), ""),
                (_signed(r["median_effect"], lang), "num"),
                (interval, "num"),
                (number(100 * r["share_helps"], lang, digits=0), "num"),
                (met, "num"),
            ]
            rows.append(html.Tr([html.Td(c, className=k) for c, k in cells]))
        parts += [
            html.P(html.B(heading)),
            html.Div(
                html.Table(
                    [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
                    className="hsd-scorecard",
                    id="effects-table",
                ),
                className="hsd-effects-scroll",
            ),
        ]
        idle = len(view.table) - len(moving)
        if idle:
            parts.append(html.P(text("app.effects.idle", lang, n=idle), className="hsd-hint"))
    return html.Div(parts)


def scorecard_markup(card, lang: str) -> dcc.Markdown:
    """The scorecard T01-T12 of a run (:func:`scorecard_rows`) as one component.

    The table is one HTML string (every text escaped) in a :class:`dcc.Markdown`: a change
    of settings replaces one property. Texts written into 108 cells, each a component of
    its own, cost Dash's renderer about 70 ms of the browser's time per change, and a new
    table of components more (measured with ``benchmarks/app_speed.py``).
    """
    cells, status = scorecard_cells(card, lang)
    numeric = {"value", "baseline", "later", "target"}

    def td(tid: str, col: str) -> str:
        cls = status[tid] if col == "status" else "num" if col in numeric else ""
        return (
            f'<td class="{cls}">{escape(cells[(tid, col)])}</td>'
            if cls
            else (f"<td>{escape(cells[(tid, col)])}</td>")
        )

    head = "".join(f"<th>{escape(cells[('head', c)])}</th>" for c in SCORE_COLUMNS)
    rows = "".join(
        f'<tr id="score-{escape(tid)}">' + "".join(td(tid, c) for c in SCORE_COLUMNS) + "</tr>"
        for tid in status
    )
    return dcc.Markdown(
        f'<table class="hsd-scorecard"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>',
        dangerously_allow_html=True,
    )


def _fmt(value: float, lang: str = "en") -> str:
    return number(value, lang, significant=6)


def slider_marks(c: LeverControl, lang: str) -> dict:
    """The marks of a slider: its ends, written in ``lang``."""
    return {c.low: _fmt(c.low, lang), c.high: _fmt(c.high, lang)}


def range_text(c: LeverControl, lang: str) -> str:
    """A lever's range and unit under its control, in ``lang``.

    Calendar years are written as years (2030, not 2.030); units in planning
    terms (:func:`hatinh_sd.vocabulary.unit`), none for a dimensionless lever.
    """
    if c.kind == "year":
        return text("app.range.year", lang, low=int(c.low), high=int(c.high))
    low, high = _fmt(c.low, lang), _fmt(c.high, lang)
    if c.units in ("Dmnl", ""):
        return text("app.range.dimensionless", lang, low=low, high=high)
    return text("app.range", lang, low=low, high=high, units=vocabulary.unit(c.units, lang))


def lever_control(c: LeverControl, lang: str, description: str | None) -> html.Div:
    """The control of one lever: label, switch / year picker / slider, range and unit."""
    control: html.Div | dcc.Dropdown | dcc.Slider
    if c.kind == "switch":
        control = html.Div(
            [
                dcc.Checklist(
                    id=lever_id(c.name, c.kind),
                    options=[{"label": "", "value": 1}],
                    value=c.switch_raw(c.default),
                    inline=True,
                    style={"display": "inline-block"},
                ),
                t("app.switch.on", lang, slot=c.name, className="hsd-switch"),
            ]
        )
    elif c.kind == "year":
        control = dcc.Dropdown(
            id=lever_id(c.name, c.kind),
            options=[{"label": str(y), "value": y} for y in range(int(c.low), int(c.high) + 1)],
            value=c.to_raw(c.default),
            clearable=False,
            searchable=False,
            className="hsd-year",
        )
    else:
        control = dcc.Slider(
            id=lever_id(c.name, c.kind),
            min=c.low,
            max=c.high,
            step=c.step,
            value=c.default,
            marks=slider_marks(c, lang),
            updatemode="mouseup",
        )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(
                        c.label[lang],
                        id={"type": "i18n-lever", "name": c.name},
                        className="hsd-lever-label",
                    )
                ],
                title=description or c.label[lang],
            ),
            control,
            html.Div(
                range_text(c, lang),
                id={"type": "i18n-range", "name": c.name},
                className="hsd-range",
            ),
        ],
        className="hsd-lever",
        **{"data-lever": c.name},  # type: ignore[arg-type]  # data-* attributes are not in Div's stub
    )


def group_title(catalogue: Catalogue, group: int, lang: str) -> str:
    """The heading of a task group's levers (from the lever catalogue)."""
    return text("app.group", lang, number=group, name=catalogue.group_label(group, lang))


def lever_panel(explorer: Explorer, lang: str, descriptions: dict[str, dict[str, str]]) -> html.Div:
    """Levers grouped by task group of the Action Programme (the first group open)."""
    groups: dict[int, list[LeverControl]] = {}
    for c in explorer.controls:
        groups.setdefault(c.group, []).append(c)
    children = [
        t("app.levers", lang, tag=html.H2),
        t("app.levers_hint", lang, tag=html.P, className="hsd-hint"),
    ]
    for i, (g, controls) in enumerate(sorted(groups.items())):
        children.append(
            html.Details(
                [
                    html.Summary(
                        group_title(explorer.catalogue, g, lang),
                        id={"type": "i18n-group", "group": g},
                    ),
                    *[
                        lever_control(c, lang, descriptions.get(c.name, {}).get(lang))
                        for c in controls
                    ],
                ],
                open=i < 2,
                className="hsd-group",
            )
        )
    return html.Div(children, className="hsd-levers")


def legend(lang: str) -> html.Div:
    from hatinh_sd.app.logic import COLOURS

    def key(colour: str, style: str, label: str) -> html.Span:
        return html.Span(
            [
                html.Span(className="hsd-key", style={"borderTop": f"3px {style} {colour}"}),
                t(label, lang),
            ]
        )

    return html.Div(
        [
            key(COLOURS["current"], "solid", "app.chart.current"),
            key(COLOURS["baseline"], "dashed", "app.chart.baseline"),
            html.Span(
                [
                    html.Span("●", style={"color": COLOURS["observed"], "marginRight": "4px"}),
                    t("app.chart.observed", lang),
                ]
            ),
            html.Span(
                [
                    html.Span("★", style={"color": COLOURS["target"], "marginRight": "4px"}),
                    t("app.chart.target", lang),
                ]
            ),
        ],
        className="hsd-legend",
    )


def build_layout(
    explorer: Explorer, lang: str, descriptions: dict[str, dict[str, str]]
) -> html.Div:
    """The whole page in language ``lang``."""
    toolbar = html.Div(
        [
            html.Div(
                [
                    t("app.language", lang, style={"marginRight": "6px"}),
                    dcc.RadioItems(
                        id="lang",
                        options=[{"label": code.upper(), "value": code} for code in LANGUAGES],
                        value=lang,
                        inline=True,
                        className="hsd-lang",
                        style={"display": "inline-block"},
                    ),
                ]
            ),
            t("app.scenario.label", lang),
            dcc.Dropdown(
                id="scenario-choice",
                options=explorer.scenario_options(lang),
                placeholder=text("app.scenario.placeholder", lang),
                className="hsd-scenario",
            ),
            html.Button(t("app.scenario.load", lang), id="scenario-load"),
            dcc.Upload(
                t("app.scenario.upload", lang),
                id="scenario-upload",
                className="hsd-upload",
                accept=".yaml,.yml",
            ),
            html.Button(t("app.scenario.save", lang), id="scenario-save"),
            html.Button(t("app.download_csv", lang), id="csv-button"),
            html.Button(t("app.download_xlsx", lang), id="xlsx-button"),
            html.Button(t("app.reset", lang), id="reset"),
            dcc.Checklist(
                id="uncertainty",
                options=[{"label": text("app.uncertainty.toggle", lang), "value": "on"}],
                value=[],
                inline=True,
            ),
            dcc.Download(id="scenario-download"),
            dcc.Download(id="csv-download"),
            dcc.Download(id="xlsx-download"),
        ],
        className="hsd-toolbar",
    )
    main = html.Div(
        [
            html.Div(
                [
                    t("scorecard.title", lang, tag=html.H2),
                    html.Div(id="scorecard-summary"),
                    html.Div(
                        scorecard_markup(
                            scorecard_rows(
                                explorer.baseline, explorer.baseline_card, explorer.targets_raw
                            ),
                            lang,
                        ),
                        id="scorecard",
                    ),
                ],
                className="hsd-card",
            ),
            html.Div(
                [t("app.costs.title", lang, tag=html.H2), html.Div(id="costs")],
                className="hsd-card",
            ),
            html.Div(
                [
                    html.H2(
                        [
                            t("app.effects.title", lang),
                            dcc.Dropdown(
                                id="effects-target",
                                options=[
                                    f"{tid} {year}" for tid, year in explorer.effect_choices()
                                ],
                                value=" ".join(map(str, explorer.effect_choices()[0])),
                                clearable=False,
                                className="hsd-effects-choice",
                            ),
                        ]
                    ),
                    html.Div(id="effects"),
                ],
                className="hsd-card",
            ),
            legend(lang),
            html.Div(id="bands-note", className="hsd-info"),
            dcc.Graph(
                id="charts",
                className="hsd-chart",
                style={"height": f"{chart_rows(len(plan_targets())) * CHART_ROW_HEIGHT}px"},
                config={"displaylogo": False, "responsive": True},
            ),
        ],
        className="hsd-main",
    )
    return html.Div(
        [
            html.Div(
                [t("app.title", lang, tag=html.H1), t("app.subtitle", lang, tag=html.P)],
                className="hsd-header",
            ),
            toolbar,
            html.Div(
                [
                    html.Div(id="run-message", role="alert", className="hsd-error"),
                    html.Div(id="scenario-message", role="status"),
                    html.Div(id="run-status", className="hsd-info"),
                ],
                className="hsd-messages",
            ),
            html.Div([lever_panel(explorer, lang, descriptions), main], className="hsd-body"),
            html.Pre(id="run-summary", className="hsd-summary"),
            # digests of what the page shows (callbacks.only_changed): only changes are sent
            dcc.Store(id="shown"),
        ]
    )
