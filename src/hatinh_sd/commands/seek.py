"""``hatinh-sd seek --target T07``: what lever settings would meet a target."""

from __future__ import annotations

import argparse
from pathlib import Path

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import number, text

#: Exit status when only the model's budget keeps the targets out of reach (bad input: 2).
EXIT_OVER_BUDGET = 3


def _split(items: list[str] | None) -> list[str]:
    return [x.strip() for item in items or [] for x in item.split(",") if x.strip()]


def cmd_seek(args: argparse.Namespace) -> int:
    from hatinh_sd.commands.run import parse_set
    from hatinh_sd.data import load_all
    from hatinh_sd.scenarios import scenario_path
    from hatinh_sd.seek import seek, write_answer

    data = load_all()
    if args.out and Path(args.out).resolve() == scenario_path(args.scenario).resolve():
        raise HatinhInputError(
            "--out is the scenario file that is read; write the answer to another file",
            path=args.out,
        )
    targets = _split(args.target)
    thresholds = parse_set(args.threshold or [], option="--threshold")
    if args.maxiter < 1:
        raise HatinhInputError("must be at least 1", path="--maxiter")
    result = seek(
        targets,
        args.scenario,
        levers=_split(args.levers) or None,
        thresholds=thresholds,
        maxiter=args.maxiter,
        targets=data.targets,
        objective=args.objective,
    )
    lang = args.lang
    reached = ", ".join(
        f"{t} = {number(result.reached[t], lang)} ({c} {number(v, lang)})"
        for t, (c, v, _) in result.targets.items()
    )
    if result.limited_by == "budget":
        print(
            text(
                "seek.budget",
                lang,
                unpaid=number(100 * result.budget_unpaid, lang, digits=1),
                targets=reached,
            )
        )
    elif not result.reachable:
        print(text("seek.unreachable", lang, closest=reached))
    elif result.objective == "cost":
        print(text("seek.found_cost", lang, targets=reached, count=len(result.changed())))
    else:
        print(
            text(
                "seek.found",
                lang,
                targets=reached,
                count=len(result.changed()),
                distance=number(result.distance, lang, digits=3),
            )
        )
    print(
        text(
            "seek.cost",
            lang,
            cost=number(result.cost, lang, digits=1),
            base=number(result.base_cost, lang, digits=1),
            share=number(result.state_share, lang, digits=1),
            unpaid=number(100 * result.budget_unpaid, lang, digits=1),
        )
    )
    from hatinh_sd.model import load_model
    from hatinh_sd.vocabulary import label, unit

    model = load_model()
    for name, (old, new) in result.changed().items():
        print(
            text(
                "seek.lever_change",
                args.lang,
                name=label(name, lang),
                old=number(old, lang),
                new=number(new, lang),
                units="" if model.units(name) == "Dmnl" else unit(model.units(name), lang),
            )
        )
    path = Path(args.out) if args.out else Path("outputs") / "seek" / f"{result.scenario.name}.yaml"
    write_answer(result, path)
    print(text("seek.wrote", args.lang, path=path))
    return EXIT_OVER_BUDGET if result.limited_by == "budget" else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "seek",
        help="find the smallest (or, with --objective cost, the cheapest) lever change that "
        "meets target(s); exit 3 when the model's budget makes them unreachable",
    )
    p.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="ID",
        help="target id(s), e.g. T07 (repeatable or comma-separated)",
    )
    p.add_argument("--scenario", default="baseline", help="starting scenario (default: baseline)")
    p.add_argument(
        "--levers",
        action="append",
        metavar="NAME[,NAME...]",
        help="levers that may move (default: every lever goal seeking may move)",
    )
    p.add_argument(
        "--threshold",
        action="append",
        metavar="ID=VALUE",
        help="replace a target's threshold (same comparator)",
    )
    p.add_argument("--maxiter", type=int, default=15, help="optimiser iterations (default: 15)")
    p.add_argument(
        "--objective",
        choices=["distance", "cost"],
        default="distance",
        help="distance: the smallest range-normalised change (default); cost: the lowest public "
        "cost of 2026-2030 (state investment, budget programmes, FDI incentives) that the "
        "model's budget pays (at most 1 %% of its asks unpaid)",
    )
    p.add_argument("--out", help="scenario file to write (default: outputs/seek/<name>.yaml)")
    p.set_defaults(func=cmd_seek)
