"""The validation dossier as one self-contained HTML page (``hatinh-sd validate``).

:func:`hatinh_sd.validation.build_dossier` gathers the evidence (Sterman's tests, the fit,
history criteria, estimates, backtests, knock-outs, surprises); this module draws and
writes it, so that the analysis renders nothing.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from hatinh_sd.calibration import fine_times
from hatinh_sd.validation import STERMAN_TESTS, Dossier, backtest_verdicts, surprises

__all__ = ["backtest_charts", "series_charts", "write_dossier"]


def backtest_charts(bt: Any) -> list[tuple[str, str]]:
    """Per series: the observations and the model's forecast (with its 90 % band) from each origin."""
    import matplotlib

    from hatinh_sd.charts import png_base64

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    f = bt.forecasts
    for indicator, g in f.groupby("indicator", sort=False):
        fig, ax = plt.subplots(figsize=(5.2, 3.2))
        obs = g.drop_duplicates("year").sort_values("year")
        ax.plot(obs["year"], obs["observed"], "ko", ms=4, label="observed")
        for origin, h in g[g["method"] == "model"].groupby("origin"):
            line = ax.plot(h["year"], h["forecast"], "-", label=f"model from {origin}")[0]
            b = bt.intervals[
                (bt.intervals["origin"] == origin) & (bt.intervals["indicator"] == indicator)
            ]
            ax.fill_between(b["year"], b["p05"], b["p95"], color=line.get_color(), alpha=0.15)
            n = g[(g["method"] == "random walk with drift") & (g["origin"] == origin)]
            ax.plot(n["year"], n["forecast"], ":", color=line.get_color())
        ax.set_title(f"{indicator} (dotted: random walk with drift)", fontsize=8)
        ax.legend(fontsize=6)
        ax.tick_params(labelsize=7)
        charts.append((indicator, png_base64(fig, dpi=110, tight=True)))
    return charts


def series_charts(d: Dossier, lang: str = "en") -> list[tuple[str, str]]:
    """One fitted-vs-observed chart per series: (title, base64 PNG), drawn by the report's
    :func:`hatinh_sd.charts.fit.fit_figure` so that the dossier and the report show the same chart."""
    from hatinh_sd.calibration import fit_variables
    from hatinh_sd.charts import png_base64
    from hatinh_sd.charts.fit import fit_figure

    variables = fit_variables(d.setup)
    times = fine_times(d.model)
    ds = d.model.run(outputs=variables, times=times[times <= 2025.5])  # the years with data
    charts = []
    for indicator in d.setup.series:
        if not (d.observations.indicator == indicator).any():
            continue
        fig = fit_figure(d.setup, d.observations, d.model_values, ds, indicator, lang)
        charts.append((indicator, png_base64(fig, dpi=110, tight=True)))
    return charts


_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto}"
    "table.t{border-collapse:collapse;font-size:13px}"
    "table.t td,table.t th{border:1px solid #ccc;padding:3px 6px}"
    "figure{display:inline-block;margin:4px}"
)


def _table(df: pd.DataFrame) -> str:
    return df.to_html(
        index=False, float_format=lambda v: f"{v:.4g}", na_rep="-", border=0, classes="t"
    )


def write_dossier(d: Dossier, path: Path, lang: str = "en") -> Path:
    """Render the dossier as one self-contained HTML file (atomically)."""
    from hatinh_sd.i18n import text
    from hatinh_sd.results import atomic_file

    parts = [f"<h1>{html.escape(text('validate.title', lang))}</h1>"]
    parts.append(
        f"<p>Model {html.escape(d.model.mdl_path.name)} sha256 {d.model.hash[:12]}, calibration sha256 {d.model.calibration_hash[:12] or 'none'}; commit {html.escape(d.model.git_commit)}. A planning model, not a forecast.</p>"
    )
    parts.append(
        "<h2>Sterman's tests</h2><table class='t'><tr><th>test</th><th>what was done</th><th>result</th></tr>"
    )
    for name, what, tests in STERMAN_TESTS:
        if tests:
            sel = (
                d.tests[d.tests["test"].str.split("[").str[0].isin(tests)]
                if len(d.tests)
                else d.tests
            )
            if len(sel) == 0:
                result = "not run"
            else:
                failed = sel[sel.outcome != "passed"]
                result = f"{len(sel) - len(failed)} of {len(sel)} automated checks passed" + (
                    "" if failed.empty else ": FAILED " + ", ".join(failed.test)
                )
        elif name == "Behaviour reproduction":
            result = f"{int(d.checks.met.sum())} of {len(d.checks)} acceptance criteria met"
        elif name == "Behaviour anomaly":
            result = f"{int(d.knockouts['as expected'].sum())} of {len(d.knockouts)} knock-outs as expected"
        elif name == "Family member":
            result = (
                "see table" if d.family is not None else "scenario plan_2012_check not available"
            )
        else:
            result = "see below" if name == "Surprise behaviour" else "see text"
        parts.append(
            f"<tr><td>{name}</td><td>{html.escape(what)}</td><td>{html.escape(result)}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<h2>Fit to history</h2><p>MAPE in %, RMSE in the series' unit, Theil's U^M (bias), U^S (unequal variation), U^C (unequal covariation). Growth rates make MAPE meaningless (small denominators): read their RMSE in points.</p>"
    )
    parts.append(_table(d.fit))
    parts.append("<h3>History criteria (Model v2)</h3>" + _table(d.checks))
    if d.estimates is not None:
        parts.append(
            "<h2>Parameter estimates</h2><p>Point estimate: weighted least squares with the other constants at their evidence values (<code>model/calibration.yaml</code>). Standard error and interval: the posterior of <code>hatinh-sd calibrate --posterior</code> (sequential Monte Carlo over the fitted parameters and the uncertain constants history informs; measurement errors fixed by R/D/E status before fitting). Correlations are in the calibration file.</p>"
            + _table(d.estimates)
        )
    if d.backtest is not None:
        from hatinh_sd.backtest import mae_h1_3

        bt = d.backtest
        parts.append(
            "<h2>Forecast backtests (rolling origin)</h2><p>Refitted to the data up to each origin, run with the exogenous drivers and dated shocks at their actual values, and compared with the later observations up to 2022 and with three naive forecasts from the same history (2012 to the origin). Errors: per cent for levels, points for shares.</p>"
        )
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(v)}</li>" for v in backtest_verdicts(bt)) + "</ul>"
        )
        parts.append("<h3>Mean absolute error over horizons 1-3 years</h3>" + _table(mae_h1_3(bt)))
        by_h = bt.summary.pivot_table(
            index=["origin", "method"], columns="horizon", values="abs_error"
        ).reset_index()
        by_h.columns = [c if isinstance(c, str) else f"h={c}" for c in by_h.columns]
        parts.append("<h3>Mean absolute error by horizon (all series)</h3>" + _table(by_h))
        u2 = bt.theil.pivot_table(
            index=["origin", "indicator"], columns="method", values="u2"
        ).reset_index()
        u2.columns.name = None
        parts.append(
            "<h3>Theil's U2 (root mean square error over that of no change; below 1 beats no change)</h3>"
            + _table(u2)
        )
        parts.append(
            "<h3>Coverage of the model's 90 % predictive interval (Laplace approximation around each refit, plus measurement error)</h3>"
            + _table(bt.coverage)
        )
        for title, png in backtest_charts(bt):
            parts.append(
                f"<figure><img alt='backtest {html.escape(title)}' src='data:image/png;base64,{png}'/></figure>"
            )
    if d.holdout is not None:
        holdout, benchmark = d.holdout.holdout_tables()
        parts.append(f"<h2>Hold-out: fitted to {d.holdout.fit_until}, tested on later years</h2>")
        parts.append("<h3>Model</h3>" + _table(holdout))
        parts.append(
            f"<h3>Naive benchmark: the 2012-{d.holdout.fit_until} trend extrapolated (constant growth for levels, linear for shares and rates)</h3>"
            + _table(benchmark)
        )
    parts.append("<h2>Loop knock-outs (behaviour anomaly)</h2>" + _table(d.knockouts))
    if d.family is not None:
        parts.append("<h2>Family member: the 2012 master plan</h2>" + _table(d.family))
    parts.append("<h2>Surprise behaviour</h2>" + _table(surprises(d.model)))
    unused = d.observations[~d.observations.used][
        ["indicator", "year", "period", "source", "reason"]
    ]
    parts.append("<h2>Observations not used, and why</h2>" + _table(unused))
    parts.append("<h2>Fitted against observed, per series</h2>")
    for title, png in series_charts(d, lang):
        parts.append(
            f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{png}'/></figure>"
        )
    from hatinh_sd.templating import Markup, render

    doc = render(
        "document.html",
        lang=lang,
        viewport=False,
        title=text("validate.title", lang),
        style=Markup(_STYLE),
        body=Markup("".join(parts)),
    )
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    return path
