"""``hatinh-sd uncertainty --scenario NAME... --n 2000``: bands and target probabilities."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hatinh_sd.commands.sensitivity import add_engine_options, engine_kwargs, sweep_store
from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import text


def cmd_uncertainty(args: argparse.Namespace) -> int:
    from hatinh_sd.data import load_targets
    from hatinh_sd.factors import DEFAULT_FACTORS_PATH, load_factors
    from hatinh_sd.model import load_model
    from hatinh_sd.targets import INDICATOR_VARIABLES, PLAN_TARGETS
    from hatinh_sd.uncertainty import (
        draw_uncertainties,
        scenario_overrides,
    )

    model = load_model()
    factors = [
        f
        for f in load_factors(args.factors or DEFAULT_FACTORS_PATH, model)
        if f.group == "uncertainty"
    ]
    every_fixed = {}  # every scenario is checked before any is run
    for name in args.scenario:
        fixed = scenario_overrides(name, model)
        clash = [f.variable for f in factors if f.variable in fixed]
        if clash:
            raise HatinhInputError(
                f"scenario '{name}' sets uncertain constant(s) {', '.join(clash)}",
                key="--scenario",
            )
        every_fixed[name] = fixed
    if args.chunk_size is not None and args.chunk_size < 1:
        raise HatinhInputError("must be at least 1", key="--chunk-size")
    values = draw_uncertainties(factors, args.n, args.seed)
    targets = load_targets()
    ids = [t for t in PLAN_TARGETS if t in set(targets["target_id"])]
    variables = []
    for tid in ids:
        var = INDICATOR_VARIABLES[targets.set_index("target_id").loc[tid, "indicator"]]
        if var not in variables:
            variables.append(var)
    for name, fixed in every_fixed.items():
        _one_scenario(args, name, model, factors, values, fixed, targets, ids, variables)
    return 0


def _one_scenario(args, name, model, factors, values, fixed, targets, ids, variables) -> None:
    """Run, analyse and write scenario ``name``'s uncertainty ensemble."""
    from hatinh_sd.ensemble import bad_runs, run_ensemble
    from hatinh_sd.results import atomic_dir, write_netcdf
    from hatinh_sd.targets import INDICATOR_VARIABLES, is_met
    from hatinh_sd.uncertainty import (
        percentile_bands,
        plot_bands,
        plot_probabilities,
        probabilities,
    )

    lang = args.lang
    t0 = time.perf_counter()
    ds = run_ensemble(
        values,
        [f.variable for f in factors],
        outputs=variables,
        model=model,
        fixed=fixed,
        chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE,
        seed=args.seed,
        store=sweep_store(
            args.out,
            name,
            f"{args.n}|{args.seed}|{json.dumps(fixed, sort_keys=True)}".encode(),
            args.chunk_size or DEFAULT_CHUNK_SIZE,
            model,
        ),
        **engine_kwargs(args),
    )
    elapsed = time.perf_counter() - t0
    bad = bad_runs(ds)
    bands = percentile_bands(ds, variables)
    prob = probabilities(ds, targets, ids, is_met)
    bands.attrs = {
        "scenario": name,
        "seed": int(args.seed),
        "n_runs": int(args.n),
        "uncertainties": json.dumps([f.name for f in factors]),
        "fixed_by_scenario": json.dumps(fixed, ensure_ascii=False),
        "model_sha256": model.hash,
    }
    labels = {
        var: f"{tid} {text(f'target.{tid}', lang)}"
        for tid in ids
        for var in [INDICATOR_VARIABLES[targets.set_index("target_id").loc[tid, "indicator"]]]
    }
    tlabels = {tid: text(f"target.{tid}", lang) for tid in ids}
    marks = {r.variable: (r.year, r.target) for r in prob.itertuples()}
    out = Path(args.out) / name
    with atomic_dir(out) as tmp:
        write_netcdf(bands, tmp / "bands.nc")
        bands.to_dataframe().reset_index().to_csv(
            tmp / "bands.csv", index=False, float_format="%.6g"
        )
        prob.to_csv(tmp / "probabilities.csv", index=False, float_format="%.6g")
        if len(bad):
            bad.to_csv(tmp / "bad_runs.csv", index=False)
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
            factors=len(factors),
            seconds=f"{elapsed:.1f}",
        )
    )
    if len(bad):
        print(text("uncertainty.bad_runs", lang, n=len(bad), path=out / "bad_runs.csv"))
    print(text("uncertainty.probability", lang))
    for r in prob.itertuples():
        print(
            f"  {r.id} {tlabels[r.id][:50]:<50} {r.comparator} {r.target:g}: "
            f"{100 * r.probability:5.1f} %  (median {r.median:.3g})"
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
    p.add_argument("--out", default="outputs/uncertainty", help="output folder")
    add_engine_options(p)
    p.set_defaults(func=cmd_uncertainty)
