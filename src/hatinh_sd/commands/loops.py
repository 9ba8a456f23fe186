"""``hatinh-sd loops``: which feedback loops dominate GRDP, T07, T11 and FDI over 2010-2050."""

from __future__ import annotations

import argparse


def _label(row, lang: str) -> str:
    from hatinh_sd.i18n import text

    named = row["named"]
    if named:
        return f"{named} {text('loops.name.' + named, lang)}"
    stocks = [s for s in str(row["stocks"]).split(" -> ") if s and s != "nan"]
    return text(
        "loops.unnamed",
        lang,
        id=row["loop"],
        polarity=row["polarity"],
        length=row["length"],
        stocks=", ".join(_stock_label(s, lang) for s in stocks[:4])
        + (", …" if len(stocks) > 4 else ""),
    )


def _stock_label(key: str, lang: str) -> str:
    """A stock's label in ``lang`` from pysimlin's form of its name."""
    from hatinh_sd.loops import _key
    from hatinh_sd.model import load_model
    from hatinh_sd.vocabulary import label

    real = {_key(r): r for r in load_model().doc["Real Name"]}.get(key, key)
    return label(real, lang)


def _periods(dominant, info, lang: str) -> list[str]:
    """Consecutive years with the same dominant loop, as printed lines."""
    from hatinh_sd.i18n import number, text

    lines: list[str] = []
    rows = list(dominant.itertuples())
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].loop != rows[start].loop:
            run = rows[start:i]
            lines.append(
                text(
                    "loops.period",
                    lang,
                    years=f"{int(run[0].time)}" + (f"-{int(run[-1].time)}" if len(run) > 1 else ""),
                    loop=_label(info.loc[run[0].loop], lang),
                    score=number(float(sum(r.score for r in run) / len(run)), lang, digits=2),
                )
            )
            start = i
    return lines


def cmd_loops(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    import pandas as pd

    from hatinh_sd.charts.loops import plot_loop_scores
    from hatinh_sd.crosscheck import TOLERANCE
    from hatinh_sd.errors import HatinhInputError
    from hatinh_sd.i18n import number, text
    from hatinh_sd.loops import FOCUS, dominance, model_loops
    from hatinh_sd.model import load_model
    from hatinh_sd.results import atomic_dir, output_folder, write_about, write_csv

    lang = args.lang
    if args.top < 1:
        raise HatinhInputError("must be at least 1", key="--top")
    if not 0 < args.timeout < float("inf"):  # NaN and inf too
        raise HatinhInputError(f"seconds, more than 0, not {args.timeout:g}", key="--timeout")
    out = output_folder(args.out, "loops")
    model = load_model()
    scores, worst = model_loops(model, timeout=args.timeout)
    print(text("loops.agreement", lang, worst=f"{worst:.2e}"))
    if worst > TOLERANCE:
        print(text("loops.differ", lang, worst=f"{worst:.2e}", tolerance=f"{TOLERANCE:g}"))
        return 1
    print(
        text(
            "loops.found",
            lang,
            version=version("pysimlin"),
            retained=scores.retained,
            found=scores.found,
            partial="" if scores.complete else text("loops.partial", lang),
            named=int((scores.loops["named"] != "").sum()),
        )
    )
    info = scores.loops.set_index("loop", drop=False)
    tops, dominants, panels = [], [], []
    for focus, through in FOCUS.items():
        name = text(f"loops.focus.{focus}", lang)
        print(text("loops.focus", lang, focus=name, variables=", ".join(through)))
        top, dominant = dominance(scores, through, top=args.top)
        if top.empty:
            print(text("loops.none", lang))
        else:
            for line in _periods(dominant, info, lang):
                print(line)
            print(
                text(
                    "loops.top",
                    lang,
                    loops="; ".join(
                        f"{_label(r, lang)} {number(r['mean_abs_score'], lang, digits=3)}"
                        for _, r in top.iterrows()
                    ),
                )
            )
        tops.append(top.assign(focus=focus, rank=range(1, len(top) + 1)))
        dominants.append(dominant.assign(focus=focus))
        panels.append(
            (
                text("loops.chart_title", lang, focus=name),
                {_label(r, lang): scores.scores[r["loop"]] for _, r in top.iterrows()},
            )
        )
    table = scores.loops.assign(
        name=[text(f"loops.name.{n}", lang) if n else "" for n in scores.loops["named"]]
    )
    long = scores.scores.reset_index().melt(id_vars="time", var_name="loop", value_name="score")
    with atomic_dir(out) as tmp:
        write_csv(table, tmp / "loops.csv", index=False, float_format="%.6g")
        write_csv(long, tmp / "scores.csv", index=False, float_format="%.6g")
        write_csv(
            pd.concat(tops, ignore_index=True), tmp / "top.csv", index=False, float_format="%.6g"
        )
        write_csv(
            pd.concat(dominants, ignore_index=True),
            tmp / "dominant.csv",
            index=False,
            float_format="%.6g",
        )
        plot_loop_scores(
            panels,
            tmp / "loops.png",
            xlabel=text("loops.chart_x", lang),
            ylabel=text("loops.chart_y", lang),
        )
        write_about(
            tmp / "about.json",
            model,
            pysimlin=version("pysimlin"),
            agreement=worst,
            loops_scored=scores.retained,
            complete=scores.complete,
        )
    print(text("loops.wrote", lang, path=out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "loops",
        help="which feedback loops dominate GRDP, T07, T11 and FDI over 2010-2050 (Loops That "
        "Matter, pysimlin, on the calibrated export)",
    )
    p.add_argument("--top", type=int, default=5, help="loops shown per outcome (default: 5)")
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds the loop search may take (default: 120)",
    )
    p.add_argument("--out", default="outputs", help="output folder; files go to OUT/loops")
    p.set_defaults(func=cmd_loops)
