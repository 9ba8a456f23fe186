"""``hatinh-sd uncertainty --scenario NAME... --n 2000``: bands and target probabilities."""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from hatinh_sd.commands.sensitivity import add_engine_options, engine_kwargs, sweep_store
from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE
from hatinh_sd.errors import HatinhInputError, check_seed, check_unique
from hatinh_sd.i18n import number, text
from hatinh_sd.targets import target_label

#: Most runs of one uncertainty ensemble (the draws alone take n x 150 x 8 bytes).
MAX_RUNS = 200_000


def cmd_uncertainty(args: argparse.Namespace) -> int:
    from hatinh_sd.data import load_targets
    from hatinh_sd.factors import load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder
    from hatinh_sd.targets import plan_targets
    from hatinh_sd.uncertainty import (
        draw_uncertainties,
        draw_with_posterior,
        history_observations,
        scenario_overrides,
    )

    if not 2 <= args.n <= MAX_RUNS:
        raise HatinhInputError(f"n = {args.n}: at least 2 and at most {MAX_RUNS:,} runs", key="--n")
    check_seed(args.seed)
    model = load_model()
    factors = [f for f in load_factors(args.factors, model) if f.group == "uncertainty"]
    every_fixed: dict[str, dict[str, float]] = {}  # every scenario is checked before any is run
    for arg in args.scenario:
        name, fixed = scenario_overrides(arg, model)
        check_unique([*every_fixed, name], "--scenario")
        output_folder(args.out, name)  # checked before anything runs
        clash = [f.variable for f in factors if f.variable in fixed]
        if clash:
            raise HatinhInputError(
                f"scenario '{name}' sets uncertain constant(s) {', '.join(clash)}",
                key="--scenario",
            )
        every_fixed[name] = fixed
    if args.chunk_size is not None and args.chunk_size < 1:
        raise HatinhInputError("must be at least 1", key="--chunk-size")
    from hatinh_sd.project import current_project

    posterior = args.posterior or current_project().posterior
    if args.independent or posterior is None:  # a project without a posterior: the factor table
        names = [f.variable for f in factors]
        values = draw_uncertainties(factors, args.n, args.seed)
        how = {"draws_method": "independent", "draws_other": len(factors)}
        key = b"independent"
    else:
        from hatinh_sd.posterior import posterior_draws

        draws = posterior_draws(model, posterior)
        names, values = draw_with_posterior(factors, draws, args.n, args.seed)
        how = {
            "draws_method": "posterior",
            "draws_posterior": len(draws),
            "draws_joint": draws.shape[1],
            "draws_other": len(names) - draws.shape[1],
        }
        key = Path(posterior).read_bytes()
    for name, fixed in every_fixed.items():
        clash = [n for n in names if n in fixed]
        if clash:
            raise HatinhInputError(
                f"scenario '{name}' sets drawn constant(s) {', '.join(clash)}", key="--scenario"
            )
    targets = load_targets()
    ids = [t for t in plan_targets() if t in set(targets["target_id"])]
    checks = history_observations()
    for name, fixed in every_fixed.items():
        _one_scenario(args, name, model, names, values, fixed, targets, ids, checks, how, key)
    return 0


def _one_scenario(args, name, model, names, values, fixed, targets, ids, checks, how, key) -> None:
    """Run and analyse scenario ``name``'s uncertainty ensemble, write and print it."""
    import numpy as np

    from hatinh_sd.charts.uncertainty import plot_bands, plot_probabilities
    from hatinh_sd.results import atomic_dir, output_folder, write_csv, write_netcdf
    from hatinh_sd.uncertainty import (
        analyse_scenario,
        check_labels,
        describe_deviations,
        describe_draws,
        probability_rows,
    )

    lang = args.lang
    chunk = args.chunk_size or DEFAULT_CHUNK_SIZE
    t0 = time.perf_counter()
    res = analyse_scenario(
        model,
        name,
        names,
        values,
        fixed,
        targets,
        ids,
        checks,
        seed=args.seed,
        how=how,
        chunk_size=chunk,
        store=sweep_store(
            args.out,
            name,
            f"{args.n}|{args.seed}|{json.dumps(fixed, sort_keys=True)}|".encode()
            + hashlib.sha256(key).digest(),
            chunk,
            model,
        ),
        **engine_kwargs(args),
    )
    elapsed = time.perf_counter() - t0
    bands, prob, history, bad = res.bands, res.probabilities, res.history, res.bad
    share = res.history_share
    variable = targets.drop_duplicates("target_id").set_index("target_id")["variable"]
    labels = {str(variable.loc[tid]): f"{tid} {target_label(tid, lang)}" for tid in ids}
    tlabels = {tid: target_label(tid, lang) for tid in ids}
    marks = {r.variable: (r.year, r.target) for r in probability_rows(prob)}
    out = output_folder(args.out, name)
    with atomic_dir(out) as tmp:
        write_netcdf(bands, tmp / "bands.nc")
        write_csv(
            bands.to_dataframe().reset_index(), tmp / "bands.csv", index=False, float_format="%.6g"
        )
        write_csv(prob, tmp / "probabilities.csv", index=False, float_format="%.6g")
        write_csv(history, tmp / "history_consistency.csv", index=False, float_format="%.6g")
        runs = res.runs.assign(
            history_consistent=(
                "sample",
                res.consistent.astype(np.int8),
                {"long_name": "1 if the run reproduces history (history_checks), else 0"},
            )
        ).assign_attrs(
            {k: v for k, v in bands.attrs.items() if k not in res.runs.attrs or k == "scenario"}
        )
        write_netcdf(runs, tmp / "runs.nc")  # every run's factor values and outputs
        if len(bad):
            write_csv(bad, tmp / "bad_runs.csv", index=False)
        plot_bands(
            bands,
            labels,
            tmp / "bands.png",
            year_label=text("uncertainty.year", lang),
            targets=marks,
        )
        plot_probabilities(
            prob, tlabels, tmp / "probabilities.png", title=text("uncertainty.probability", lang)
        )
    print(
        text(
            "uncertainty.done",
            lang,
            scenario=name,
            runs=args.n,
            factors=len(names),
            seconds=f"{elapsed:.1f}",
        )
    )
    print("  " + describe_draws(bands.attrs, lang))
    if len(checks):  # a project with history checks
        described = check_labels(checks.to_dict("records"), model, lang)
        print(text("uncertainty.history", lang, share=f"{100 * share:.1f}", checks=described))
        for check, check_share in zip(history["check"], history["share"]):
            print(f"    {check}: {100 * check_share:.1f} %")
        deviations = describe_deviations(history.to_dict("records"), model, lang)
        print(text("uncertainty.deviations", lang, deviations=deviations))
    if len(bad):
        print(text("uncertainty.bad_runs", lang, n=len(bad), path=out / "bad_runs.csv"))
    print(text("uncertainty.probability", lang))
    for r in probability_rows(prob):
        print(
            f"  {r.id} {tlabels[r.id][:50]:<50} {r.comparator} {number(r.target, lang)}: "
            f"{number(100 * r.probability, lang, digits=1):>5} %  "
            + text("uncertainty.median", lang, median=number(r.median, lang, significant=3))
        )
    print(text("run.wrote", lang, path=out))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "uncertainty",
        help="percentile bands and probability of meeting the targets under uncertainty",
    )
    p.add_argument(
        "--scenario",
        nargs="+",
        default=["baseline"],
        help="scenario name(s) (levers held fixed); the same draws for each",
    )
    p.add_argument("--n", type=int, default=2000, help="number of runs (default 2000)")
    p.add_argument("--seed", type=int, default=20260301, help="random seed")
    p.add_argument(
        "--factors",
        default=None,
        help="factor table (default sensitivity/factors.csv; its 'uncertainty' rows are drawn)",
    )
    p.add_argument(
        "--posterior",
        help="posterior draws of the fitted parameters (default: the project's, model/posterior.nc)",
    )
    p.add_argument(
        "--independent",
        action="store_true",
        help="draw every uncertain constant independently from the factor table and keep the fitted values (ignores the posterior: runs then need not reproduce history)",
    )
    p.add_argument("--out", default="outputs/uncertainty", help="output folder")
    add_engine_options(p)
    p.set_defaults(func=cmd_uncertainty)
