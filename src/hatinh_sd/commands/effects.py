"""``hatinh-sd effects --scenario NAME --n 200``: each lever's effect on each target
under uncertainty (median, 90 % interval, share of draws in which it helps)."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from typing import Any

from hatinh_sd.commands.sensitivity import add_engine_options, engine_kwargs, sweep_store
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import number, text
from hatinh_sd.targets import target_label

#: Levers printed per target (``--top``).
TOP = 3
#: Most runs of one effects ensemble (2 x levers x draws).
MAX_RUNS = 400_000


def _lever_range(f: Any, lang: str) -> str:
    """``low → high unit`` of a lever (calendar years and dimensionless values without a unit)."""
    from hatinh_sd.vocabulary import unit

    year = f.unit == "Year" and f.low > 1000
    u = "" if f.unit == "Dmnl" or year else f" {unit(f.unit, lang)}"
    if year:
        return f"{f.low:.0f} → {f.high:.0f}"
    return f"{number(f.low, lang)} → {number(f.high, lang)}{u}"


def cmd_effects(args: argparse.Namespace) -> int:
    from hatinh_sd.effects import prepare
    from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder

    # every input is checked before anything runs or is written
    if args.top < 1:
        raise HatinhInputError(f"must be at least 1, not {args.top}", key="--top")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise HatinhInputError("must be at least 1", key="--chunk-size")
    engine = engine_kwargs(args)
    levers = None
    if args.levers is not None:
        levers = [lv.strip() for lv in args.levers.split(",") if lv.strip()]
    model = load_model()
    setup = prepare(
        model,
        scenario=args.scenario,
        n=args.n,
        seed=args.seed,
        years=args.year,
        levers=levers,
        posterior_path=args.posterior,
        max_runs=MAX_RUNS,
    )
    out = output_folder(args.out, "effects", setup.scenario)
    chunk = args.chunk_size or DEFAULT_CHUNK_SIZE
    key = (
        f"{args.n}|{args.seed}|{setup.years}|{[f.variable for f in setup.levers]}|"
        f"{json.dumps(setup.fixed, sort_keys=True)}|".encode()
        + hashlib.sha256(setup.posterior_path.read_bytes()).digest()
    )
    _run_and_write(args, setup, out, chunk, key, engine)
    return 0


def _run_and_write(args, setup, out, chunk, key, engine) -> None:
    """Run the ensemble, write the table, netCDF and charts, print the summary."""
    from pathlib import Path

    from hatinh_sd.charts.effects import plot_effects, plot_helps
    from hatinh_sd.effects import effects_table, run_effects
    from hatinh_sd.results import atomic_dir, write_csv, write_netcdf
    from hatinh_sd.uncertainty import describe_draws
    from hatinh_sd.vocabulary import label, unit

    lang = args.lang
    t0 = time.perf_counter()
    eff, bad = run_effects(
        setup,
        chunk_size=chunk,
        store=sweep_store(Path(args.out) / "effects", setup.scenario, key, chunk, setup.model),
        **engine,
    )
    table = effects_table(eff)
    seconds = time.perf_counter() - t0
    lever_of = {f.variable: f for f in setup.levers}
    lever_labels = {f.variable: label(f.variable, lang) for f in setup.levers}
    unit_of = {str(t): str(u) for t, u in zip(eff["target"].values, eff["unit"].values)}
    short = {tid: target_label(tid, lang) for tid in unit_of}
    titles = {tid: f"{tid} {short[tid]}" for tid in unit_of}
    # effects on a percentage are percentage points; ratios have no unit
    target_unit = {tid: "" if u == "Dmnl" else unit(u, lang) for tid, u in unit_of.items()}
    effect_unit = {
        tid: text("effects.points", lang) if u == "percent" else target_unit[tid]
        for tid, u in unit_of.items()
    }

    lines = [
        text(
            "effects.done",
            lang,
            scenario=getattr(setup.scenario_title, lang),
            levers=len(setup.levers),
            targets=len(unit_of),
            draws=setup.n,
            runs=number(int(eff.attrs["n_runs"]), lang, digits=0),
            seconds=number(seconds, lang, digits=1),
        ),
        "  " + describe_draws(eff.attrs, lang),
        text("effects.meaning", lang),
    ]
    if len(bad):
        lines.append(text("effects.bad_runs", lang, n=len(bad), path=out / "bad_runs.csv"))
    for key, grp in table.groupby(["target", "year"], sort=False):
        tid, year = str(key[0]), int(key[1])
        r0 = grp.to_dict("records")[0]
        lines.append(
            text(
                "effects.target",
                lang,
                target=titles[tid],
                year=year,
                comparator=r0["comparator"],
                value=number(r0["target_value"], lang),
                unit=_spaced(target_unit[tid]),
            )
        )
        moving = grp[(grp["share_helps"] + grp["share_hurts"]) > 0]
        if moving.empty:
            lines.append("  " + text("effects.none", lang))
            continue
        for r in moving.head(args.top).to_dict("records"):
            lines.append(
                "  "
                + text(
                    "effects.line",
                    lang,
                    rank=int(r["rank"]),
                    lever=lever_labels[r["lever"]],
                    range=_lever_range(lever_of[r["lever"]], lang),
                    median=_signed(r["median_effect"], lang),
                    low=_signed(r["p05_effect"], lang),
                    high=_signed(r["p95_effect"], lang),
                    unit=_spaced(effect_unit[tid]),
                    helps=number(100 * r["share_helps"], lang, digits=0),
                    met_low=number(100 * r["share_met_low"], lang, digits=0),
                    met_high=number(100 * r["share_met_high"], lang, digits=0),
                )
            )
    idle = [
        lv
        for lv, grp in table.groupby("lever", sort=False)
        if ((grp["share_helps"] + grp["share_hurts"]) == 0).all()
    ]
    if idle:
        lines.append(
            text(
                "effects.idle",
                lang,
                n=len(idle),
                levers="; ".join(lever_labels[lv] for lv in idle),
            )
        )

    with atomic_dir(out) as tmp:
        write_csv(table, tmp / "effects.csv", index=False, float_format="%.8g")
        write_netcdf(eff, tmp / "effects.nc", cf=False)
        if len(bad):
            write_csv(bad, tmp / "bad_runs.csv", index=False, float_format="%.10g")
        for year in setup.years:
            suffix = "" if year == setup.years[0] else f"_{year}"
            plot_effects(
                table,
                tmp / f"effects{suffix}.png",
                year=year,
                target_titles=titles,
                lever_labels=lever_labels,
                axis_labels={
                    tid: text("effects.axis", lang, unit=effect_unit[tid] or "-") for tid in titles
                },
                title=text("effects.chart_title", lang, year=year, draws=setup.n),
            )
            plot_helps(
                table,
                tmp / f"helps{suffix}.png",
                year=year,
                target_labels={tid: tid for tid in titles},
                lever_labels=lever_labels,
                title=text("effects.helps_title", lang, year=year, draws=setup.n),
                colour_label=text("effects.helps_colour", lang),
            )
        (tmp / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        print(line)
    print(text("run.wrote", lang, path=out))


def _spaced(u: str) -> str:
    """`` unit`` with a leading space, or nothing."""
    return f" {u}" if u else ""


def _signed(value: float, lang: str) -> str:
    """A value with its sign (``+0,52``, ``-1,3``, ``0``), three significant digits."""
    s = number(value, lang, significant=3)
    return s if s.startswith(("-", "–")) or s == "0" else f"+{s}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "effects",
        help="each lever's effect on each target (top of its range minus bottom) across "
        "posterior draws: median, 90 %% interval, share of draws in which it helps",
    )
    p.add_argument("--scenario", default="baseline", help="scenario (default baseline)")
    p.add_argument("--n", type=int, default=200, help="draws of the uncertain constants (200)")
    p.add_argument("--seed", type=int, default=20260301, help="random seed")
    p.add_argument(
        "--year",
        type=int,
        nargs="+",
        default=[2030],
        help="year(s) the targets are read in: 2030 (the targets' year, default) and/or 2050 "
        "(targets with a 2050 value: all but T01)",
    )
    p.add_argument(
        "--levers",
        default=None,
        help="comma-separated levers of the factor table to vary (default: all)",
    )
    p.add_argument("--top", type=int, default=TOP, help="levers printed per target (3)")
    p.add_argument(
        "--posterior",
        help="posterior draws of the fitted parameters (default: the project's, model/posterior.nc)",
    )
    p.add_argument(
        "--out", default="outputs", help="output folder; results go to OUT/effects/<scenario>/"
    )
    add_engine_options(p)
    p.set_defaults(func=cmd_effects)
