"""``hatinh-sd robust --targets T01 T03 T07``: lever mixes that hold up under uncertainty,
traded against their public cost (Pareto front), each written as a runnable scenario."""

from __future__ import annotations

import argparse
import math
import time

from hatinh_sd.commands.discover import _target
from hatinh_sd.errors import HatinhInputError, check_seed, did_you_mean
from hatinh_sd.i18n import number, text

#: Exit status when no lever mix searched fits the model's budget (bad input: 2).
EXIT_INFEASIBLE = 3
#: Most candidates one search may evaluate (each runs every draw).
MAX_EVALUATIONS = 20_000


def problem(args: argparse.Namespace, model):
    """The :class:`hatinh_sd.robust.LeverMix` of ``args`` and its base scenario
    (everything checked before anything runs)."""
    import numpy as np

    from hatinh_sd.factors import load_factors
    from hatinh_sd.posterior import posterior_draws
    from hatinh_sd.robust import LeverMix
    from hatinh_sd.scenarios import load_catalogue, load_scenario, resolve_scenario
    from hatinh_sd.uncertainty import draw_with_posterior

    if args.n < 2:
        raise HatinhInputError(f"n = {args.n}: at least 2 draws", key="--n")
    check_seed(args.seed)
    if not 1 <= args.evaluations <= MAX_EVALUATIONS:
        raise HatinhInputError(
            f"evaluations {args.evaluations}: between 1 and {MAX_EVALUATIONS:,}",
            key="--evaluations",
        )
    targets = []
    for name in dict.fromkeys(args.targets):
        tid, row = _target(name)
        targets.append(
            (
                tid,
                str(row["variable"]),
                int(row["year"]),
                str(row["comparator"]),
                float(row["value"]),
            )
        )
    cat = load_catalogue(model=model)
    factors = load_factors(model=model)
    ranged = {f.variable: f for f in factors if f.group == "lever"}
    allowed = [n for n, e in cat.levers.items() if e.seek and n in ranged]
    names = [x.strip() for item in args.levers or [] for x in item.split(",") if x.strip()]
    for n in names:
        if n not in allowed:
            raise HatinhInputError(
                f"'{n}' is not a lever the search may move{did_you_mean(n, allowed)}",
                key="--levers",
            )
    levers = list(dict.fromkeys(names)) or allowed
    scn = load_scenario(args.scenario, model=model)
    settings = dict(resolve_scenario(scn, model))
    uncertain = [f for f in factors if f.group == "uncertainty"]
    draw_names, draws = draw_with_posterior(uncertain, posterior_draws(model), args.n, args.seed)
    searched = {model.py_name(n) for n in levers + draw_names}
    mix = LeverMix(
        model=model,
        levers=levers,
        low=np.array([ranged[n].low for n in levers]),
        high=np.array([ranged[n].high for n in levers]),
        targets=targets,
        draw_names=draw_names,
        draws=draws,
        fixed={k: v for k, v in settings.items() if k not in searched},
        base=np.array([settings.get(model.py_name(n), float(model.defaults[n])) for n in levers]),
    )
    return mix, scn


def scenario_for(scn, mix, values, index: int, lang_fields: dict):
    """Candidate ``values`` of ``mix.levers`` as a scenario built on ``scn``."""
    from hatinh_sd.scenarios import Bilingual, Ramp, Scenario, Step

    levers = dict(scn.levers)
    for n, v in zip(mix.levers, values):
        spec = levers.get(n)
        v = float(v)
        levers[n] = spec.model_copy(update={"value": v}) if isinstance(spec, Step | Ramp) else v
    fields = {"base": scn.name, "index": index, **lang_fields}
    return Scenario(
        name=f"{scn.name}_robust_{index}",
        title=Bilingual(
            vi=text("robust.title", "vi", **fields), en=text("robust.title", "en", **fields)
        ),
        description=Bilingual(
            vi=text("robust.description", "vi", **fields),
            en=text("robust.description", "en", **fields),
        ),
        cites=scn.cites,
        levers=levers,
        expected=[],
    )


def cmd_robust(args: argparse.Namespace) -> int:
    import numpy as np

    from hatinh_sd.charts.robust import plot_front
    from hatinh_sd.model import load_model
    from hatinh_sd.results import atomic_dir, output_folder, write_about, write_csv, write_netcdf
    from hatinh_sd.robust import SHORTFALL, pareto
    from hatinh_sd.scenarios import dump_scenario

    lang = args.lang
    if args.minutes is not None and not 0 < args.minutes < math.inf:  # NaN and inf too
        raise HatinhInputError(f"minutes, more than 0, not {args.minutes:g}", key="--minutes")
    model = load_model()
    mix, scn = problem(args, model)
    ids = [t[0] for t in mix.targets]
    out = output_folder(args.out, "robust", f"{scn.name}_{'_'.join(ids)}")
    t0 = time.perf_counter()
    x, y, nfe = pareto(
        mix.evaluate,
        mix.low,
        mix.high,
        [True] * len(ids) + [False],
        constraints=1,
        population=args.population,
        evaluations=args.evaluations,
        seed=args.seed,
        seconds=None if args.minutes is None else 60 * args.minutes,
        start=[mix.base] if mix.base is not None else (),
    )
    seconds = time.perf_counter() - t0
    if not len(x):
        print(
            text("robust.infeasible", lang, candidates=nfe, shortfall=number(100 * SHORTFALL, lang))
        )
        return EXIT_INFEASIBLE
    order = np.argsort(y[:, -1])  # cheapest first
    x, y = x[order], y[order]
    scores, runs = mix.runs_and_scores(x)  # the front's runs, kept with their inputs
    print(
        text(
            "robust.done",
            lang,
            candidates=nfe,
            levers=len(mix.levers),
            draws=len(mix.draws),
            runs=mix.runs,
            seconds=f"{seconds:.0f}",
            points=len(x),
            shortfall=number(100 * SHORTFALL, lang),
        )
    )
    import pandas as pd

    front = pd.DataFrame(x, columns=mix.levers)
    for j, tid in enumerate(ids):
        front[f"p_{tid}"] = y[:, j]
    front["cost"] = y[:, -1]
    front["shortfall"] = scores["shortfall"].to_numpy()
    front["state_share"] = scores["state_share"].to_numpy()
    front.insert(0, "point", [f"{scn.name}_robust_{i + 1}" for i in range(len(front))])
    for i, (_, row) in enumerate(front.iterrows()):
        print(
            text(
                "robust.point",
                lang,
                point=i + 1,
                probabilities=", ".join(
                    f"{tid} {number(100 * row[f'p_{tid}'], lang, digits=0)} %" for tid in ids
                ),
                cost=number(row["cost"], lang, digits=1),
            )
        )
    with atomic_dir(out) as tmp:
        write_csv(front, tmp / "front.csv", index=False, float_format="%.17g")  # exact
        n = len(mix.draws)
        write_netcdf(
            runs.assign_coords(
                point=("sample", np.repeat(front["point"].to_numpy(dtype=str), n)),
                draw=("sample", np.tile(np.arange(n), len(front))),
            ),
            tmp / "runs.nc",
        )
        plot_front(
            front,
            ids,
            tmp / "front.png",
            xlabel=text("robust.cost_axis", lang),
            ylabels={tid: text("robust.probability_axis", lang, target=tid) for tid in ids},
        )
        write_about(
            tmp / "about.json",
            model,
            scenario=scn.name,
            targets=ids,
            levers=mix.levers,
            draws=len(mix.draws),
            seed=args.seed,
            evaluated=nfe,
            shortfall_limit=SHORTFALL,
        )
        for i, values in enumerate(x):
            scn_i = scenario_for(
                scn, mix, values, i + 1, {"targets": ", ".join(ids), "count": len(mix.levers)}
            )
            (tmp / f"{scn_i.name}.yaml").write_text(dump_scenario(scn_i), encoding="utf-8")
    print(text("robust.wrote", lang, path=out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "robust",
        help="lever mixes that meet targets in the most draws of the uncertain constants at "
        "the least public cost (2026-2030), within the model's budget (NSGA-II, platypus)",
    )
    p.add_argument("--targets", nargs="+", required=True, metavar="ID", help="e.g. T01 T03 T07")
    p.add_argument("--scenario", default="baseline", help="base scenario (default: baseline)")
    p.add_argument(
        "--levers",
        action="append",
        metavar="NAME[,NAME...]",
        help="levers searched (default: every lever goal seeking may move)",
    )
    p.add_argument("--n", type=int, default=50, help="draws of the uncertain constants (50)")
    p.add_argument("--seed", type=int, default=1, help="seed of the draws and the search (1)")
    p.add_argument("--population", type=int, default=24, help="NSGA-II population (24)")
    p.add_argument(
        "--evaluations", type=int, default=480, help="candidates evaluated at most (480)"
    )
    p.add_argument("--minutes", type=float, help="stop the search after this many minutes")
    p.add_argument("--out", default="outputs", help="output folder; files go to OUT/robust")
    p.set_defaults(func=cmd_robust)
