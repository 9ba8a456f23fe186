"""``hatinh-sd discover --target T01``: ranges of levers and uncertainties that meet a target."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from pathlib import Path
from typing import Any

from hatinh_sd.commands.sensitivity import add_engine_options, engine_kwargs
from hatinh_sd.errors import HatinhInputError, check_seed
from hatinh_sd.i18n import number, text
from hatinh_sd.targets import target_label

#: Inputs named in the list of feature scores printed.
TOP_SCORES = 5


def _target(name: str):
    """The row of ``targets.csv`` of plan target ``name`` (T01-T12, any case)."""
    from hatinh_sd.data import load_targets
    from hatinh_sd.targets import indicator_variables, plan_targets

    targets = load_targets().set_index("target_id")
    known = [
        t
        for t in plan_targets()
        if t in targets.index and targets.loc[t, "indicator"] in indicator_variables()
    ]
    tid = name.strip().upper()
    if tid not in known:
        close = difflib.get_close_matches(tid, known, n=3, cutoff=0.5)
        digits = re.fullmatch(r"T?0*(\d{1,2})", tid)  # T1, 1, t001: T01
        padded = f"T{int(digits[1]):02d}" if digits else None
        if padded in known:
            close = [padded] + [c for c in close if c != padded]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise HatinhInputError(
            f"unknown target '{name}'{hint}; the model's plan targets are {', '.join(known)}",
            key="--target",
        )
    return tid, targets.loc[tid]


def cmd_discover(args: argparse.Namespace) -> int:
    import numpy as np

    from hatinh_sd.discover import MAX_RUNS, MIN_RUNS, draw_levers, ema_analysis
    from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE, bad_runs, run_ensemble
    from hatinh_sd.factors import load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.posterior import posterior_draws
    from hatinh_sd.results import output_folder
    from hatinh_sd.scenarios import load_scenario, resolve_scenario
    from hatinh_sd.uncertainty import draw_with_posterior

    # every input is checked before anything runs or is written
    if not MIN_RUNS <= args.n <= MAX_RUNS:
        raise HatinhInputError(
            f"n = {args.n}: at least {MIN_RUNS} and at most {MAX_RUNS:,} runs", key="--n"
        )
    check_seed(args.seed)
    if not 0 < args.threshold <= 1:
        raise HatinhInputError(
            f"a density between 0 and 1 (0.8: 80 % of a box's runs meet the target), "
            f"not {args.threshold:g}",
            key="--threshold",
        )
    if args.chunk_size is not None and args.chunk_size < 1:
        raise HatinhInputError("must be at least 1", key="--chunk-size")
    engine = engine_kwargs(args)
    tid, target = _target(args.target)
    try:  # PRIM and the feature scores are ema_workbench's: checked before anything runs
        ema_analysis()
    except ImportError as exc:
        raise HatinhInputError(
            f"scenario discovery needs ema_workbench ({exc}); install it: "
            "pip install 'ema_workbench==2.5.3'",
            key="discover",
        ) from None
    model = load_model()
    scn = load_scenario(args.scenario, model=model)
    scenario, settings = scn.name, dict(resolve_scenario(scn, model))
    out = output_folder(args.out, "discover", f"{scenario}_{tid}")
    factors = load_factors(model=model)
    levers = [f for f in factors if f.group == "lever"]
    uncertain = [f for f in factors if f.group == "uncertainty"]
    draws = posterior_draws(model)

    t0 = time.perf_counter()
    unc_names, unc_values = draw_with_posterior(uncertain, draws, args.n, args.seed)
    names = [f.variable for f in levers] + unc_names
    values = np.hstack([draw_levers(levers, args.n, args.seed), unc_values])
    drawn = {model.py_name(n) for n in names}
    # the scenario fixes only what is not drawn (with the shipped factor table, nothing:
    # every lever a scenario sets is a lever of the table)
    fixed = {k: v for k, v in settings.items() if k not in drawn}
    variable = str(target["variable"])
    year = int(target["year"])
    ds = run_ensemble(
        values,
        names,
        outputs=[variable],
        model=model,
        fixed=fixed,
        chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
        seed=args.seed,
        **engine,
    )
    ensemble_seconds = time.perf_counter() - t0
    _analyse_and_write(
        args,
        model=model,
        tid=tid,
        target=target,
        scenario=scenario,
        scenario_title=getattr(scn.title, args.lang),
        settings=settings,
        fixed=fixed,
        levers=levers,
        names=names,
        values=values,
        outcome=ds[variable].sel(time=year).values.astype(float),
        outcome_units=str(ds[variable].attrs.get("units", "")),
        variable=variable,
        year=year,
        bad=bad_runs(ds),
        library_versions=ds.attrs["library_versions"],
        ensemble_seconds=ensemble_seconds,
        how={
            "draws_posterior": len(draws),
            "draws_joint": draws.shape[1],
            "draws_other": len(unc_names) - draws.shape[1],
        },
        out=out,
    )
    return 0


def _analyse_and_write(
    args: argparse.Namespace,
    *,
    model: Any,
    tid: str,
    target: Any,
    scenario: str,
    scenario_title: str,
    settings: dict[str, float],
    fixed: dict[str, float],
    levers: list[Any],
    names: list[str],
    values: Any,
    outcome: Any,
    outcome_units: str,
    variable: str,
    year: int,
    bad: Any,
    library_versions: str,
    ensemble_seconds: float,
    how: dict[str, int],
    out: Path,
) -> None:
    """PRIM, feature scores, files and the printed summary of one discovery ensemble."""
    import numpy as np
    import pandas as pd
    import xarray as xr

    from hatinh_sd.charts.discover import plot_tradeoff
    from hatinh_sd.discover import (
        boxes_table,
        describe_box,
        feature_scores,
        find_boxes,
        screen,
        target_outcome,
    )
    from hatinh_sd.results import atomic_dir, write_csv, write_netcdf
    from hatinh_sd.vocabulary import label, unit

    lang = args.lang
    comparator, value = str(target["comparator"]), float(target["value"])
    met = target_outcome(outcome, comparator, value)
    x = pd.DataFrame(values, columns=names)
    t0 = time.perf_counter()
    screened = screen(x, met)
    if args.no_screen:
        screened["kept"] = True
    prim_inputs = list(screened.loc[screened["kept"], "factor"])
    boxes, trajectories = find_boxes(x[prim_inputs], met, threshold=args.threshold)
    scores = feature_scores(x, met, seed=args.seed, workers=args.workers)
    analysis_seconds = time.perf_counter() - t0

    params = model.parameters
    lever_value = {
        f.variable: settings.get(f.py_name, float(model.defaults[f.variable])) for f in levers
    }
    group = {n: "lever" if n in lever_value else "uncertainty" for n in names}
    unit_of = {n: params[n].units if n in params else "" for n in names}
    info = pd.DataFrame(
        {
            "group": [group[n] for n in names],
            "unit": [unit_of[n] for n in names],
            "drawn_low": values.min(axis=0),
            "drawn_high": values.max(axis=0),
            "scenario_value": [
                lever_value.get(n, float(model.defaults[n])) if n in model.defaults else np.nan
                for n in names
            ],
        },
        index=pd.Index(names, name="dimension"),
    )
    table = boxes_table(boxes, info, threshold=args.threshold)
    # the extra-trees ranking beside the screen's test, one row per input
    scores = (
        screened.rename(columns={"kept": "given_to_prim"})
        .merge(scores, on="factor", how="left")
        .merge(info[["group"]], left_on="factor", right_index=True, how="left")
        .sort_values(["rank", "ks_pvalue"], kind="stable", na_position="last")
        .reindex(
            columns=[
                "rank",
                "factor",
                "group",
                "score",
                "ks_statistic",
                "ks_pvalue",
                "given_to_prim",
            ]
        )
        .astype({"rank": "Int64"})
    )

    # per-run inputs and outcome: netCDF with a sample dimension, and CSV
    runs = xr.Dataset(
        {
            model.py_name(n): (
                "sample",
                values[:, j],
                {"long_name": n, "units": unit_of[n], "group": group[n]},
            )
            for j, n in enumerate(names)
        },
        coords={"sample": np.arange(len(outcome))},
    )
    runs[variable] = (
        "sample",
        outcome,
        {"long_name": f"{variable} in {year}", "units": outcome_units},
    )
    runs["met"] = (
        "sample",
        met.astype(np.int8),
        {"long_name": f"{tid}: {variable} in {year} {comparator} {value:g} (1 met, 0 not)"},
    )
    runs.attrs = {
        "title": f"Scenario discovery of {tid} (hatinh-sd discover)",
        "target": tid,
        "indicator": str(target["indicator"]),
        "variable": variable,
        "year": year,
        "comparator": comparator,
        "target_value": value,
        "scenario": scenario,
        "fixed_by_scenario": json.dumps(fixed, ensure_ascii=False),
        "levers_drawn": "uniform over the factor table's range (Latin hypercube)",
        "uncertainties_drawn": "posterior draws jointly, the other uncertain constants by Latin "
        "hypercube over their own distributions (hatinh_sd.uncertainty.draw_with_posterior)",
        **{k: int(v) for k, v in how.items()},
        "seed": int(args.seed),
        "n_runs": len(outcome),
        "threshold": float(args.threshold),
        "prim_inputs": json.dumps(prim_inputs, ensure_ascii=False),
        "prim_screen": "none (--no-screen)"
        if args.no_screen
        else "two-sample Kolmogorov-Smirnov, Bonferroni, family-wise 0.01",
        "share_met": float(met.mean()),
        "model_sha256": model.hash,
        "calibration_sha256": model.calibration_hash or "none",
        "library_versions": library_versions,
    }
    flat = pd.DataFrame(values, columns=names)
    flat.insert(0, "sample", np.arange(len(outcome)))
    flat[variable] = outcome
    flat["met"] = met.astype(int)

    target_text = f"{tid} {target_label(tid, lang)} ({year} {comparator} {number(value, lang)})"
    labels = {n: label(n, lang) for n in names}
    # calendar years (start years) and dimensionless inputs are written without a unit
    low = dict(zip(names, values.min(axis=0)))
    years = {n for n in names if unit_of[n] == "Year" and low[n] > 1000}
    units = {n: "" if unit_of[n] == "Dmnl" or n in years else unit(unit_of[n], lang) for n in names}
    lines = [
        text(
            "discover.done",
            lang,
            target=target_text,
            runs=len(outcome),
            seconds=number(ensemble_seconds + analysis_seconds, lang, digits=1),
            levers=len(levers),
            uncertainties=len(names) - len(levers),
            share=number(100 * met.mean(), lang, digits=1),
        ),
        text(
            "discover.scenario", lang, scenario=scenario_title, levers=len(levers), fixed=len(fixed)
        ),
    ]
    if met.any() and not met.all():
        lines.append(
            text(
                "discover.all_inputs" if args.no_screen else "discover.screen",
                lang,
                kept=len(prim_inputs),
                inputs=len(names),
            )
        )
    if len(bad):
        lines.append(text("discover.bad_runs", lang, n=len(bad), path=out / "bad_runs.csv"))
    if met.all():
        lines.append(text("discover.all_met", lang))
    elif not met.any():
        lines.append(text("discover.none_met", lang))
    elif not prim_inputs:
        lines.append(text("discover.nothing_differs", lang))
    elif not boxes[0].dense_enough:
        lines.append(
            text(
                "discover.no_box",
                lang,
                threshold=number(100 * args.threshold, lang, digits=0),
                met=int(met.sum()),
            )
        )
    for b in boxes:
        dims = list(b.limits["dimension"])
        order = [d for d in dims if d in lever_value] + [d for d in dims if d not in lever_value]
        lines.append(
            describe_box(b, tid, lang, labels=labels, units=units, order=order, years=years)
        )
    if scores["rank"].notna().any():
        head = scores.head(TOP_SCORES)
        top = "; ".join(
            f"{int(k)}. {labels.get(str(f), str(f))} {number(float(v), lang, digits=3)}"
            for k, f, v in zip(head["rank"], head["factor"], head["score"])
        )
        lines.append(text("discover.scores", lang, scores=top))

    with atomic_dir(out) as tmp:
        write_netcdf(runs, tmp / "runs.nc")
        write_csv(flat, tmp / "runs.csv", index=False, float_format="%.8g")
        write_csv(table, tmp / "boxes.csv", index=False, float_format="%.6g")
        write_csv(trajectories, tmp / "peeling.csv", index=False, float_format="%.6g")
        write_csv(scores, tmp / "feature_scores.csv", index=False, float_format="%.6g")
        if len(bad):
            write_csv(bad, tmp / "bad_runs.csv", index=False, float_format="%.10g")
        plot_tradeoff(
            trajectories,
            tmp / "peeling.png",
            title=text("discover.chart_title", lang, target=target_text),
            xlabel=text("discover.coverage", lang),
            ylabel=text("discover.density", lang),
            box_label=text("discover.box_label", lang, number="{number}"),
            colour_label=text("discover.restricted", lang),
            threshold=args.threshold,
        )
        (tmp / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines:
        print(line)
    print(text("run.wrote", lang, path=out))


def register(sub: argparse._SubParsersAction) -> None:
    from hatinh_sd.discover import DEFAULT_THRESHOLD, MAX_RUNS, MIN_RUNS

    p = sub.add_parser(
        "discover",
        help="scenario discovery (PRIM): ranges of levers and uncertainties in which a target is met",
    )
    p.add_argument("--target", required=True, help="plan target, T01-T12")
    p.add_argument(
        "--scenario",
        default="baseline",
        help="scenario (default baseline); the levers of the factor table are drawn over their "
        "ranges whatever it sets, it fixes only the other constants it sets",
    )
    p.add_argument(
        "--n",
        type=int,
        default=10_000,
        help=f"number of runs (default 10000; {MIN_RUNS} to {MAX_RUNS})",
    )
    p.add_argument("--seed", type=int, default=20260301, help="random seed")
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="density a box must reach: share of its runs that meet the target (default 0.8)",
    )
    p.add_argument(
        "--out",
        default="outputs",
        help="output folder; results go to OUT/discover/<scenario>_<target>/",
    )
    p.add_argument(
        "--no-screen",
        action="store_true",
        help="give PRIM every input, not only those whose distribution differs between runs "
        "that meet the target and runs that do not (slower: about 10 s a box)",
    )
    add_engine_options(p)
    p.set_defaults(func=cmd_discover)
