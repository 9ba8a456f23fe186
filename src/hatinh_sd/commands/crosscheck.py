"""``hatinh-sd crosscheck --engine simlin|sdeverywhere|all``: the model run by independent
engines against PySD."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hatinh_sd.errors import HatinhInputError, check_seed
from hatinh_sd.i18n import text

if TYPE_CHECKING:
    from hatinh_sd.crosscheck import CrossCheck

#: Parameter sets at most (each is run in PySD and in every engine).
MAX_SETS = 1000


def _sci(value: float) -> str:
    return f"{value:.2e}"


def _print(result: CrossCheck, lang: str) -> None:
    print(
        text(
            "crosscheck.done",
            lang,
            engine=result.engine,
            version=result.version,
            sets=result.sets,
            compared=result.compared,
            worst=_sci(result.worst),
            baseline=_sci(result.baseline_worst),
            baseline_variable=result.baseline_variable,
            baseline_year=f"{result.baseline_year:.0f}",
            sets_worst=_sci(result.sets_worst),
            sets_variable=result.sets_variable or "–",
            sets_year=f"{result.sets_year:.0f}" if result.sets else "–",
        )
    )
    if result.zeros:
        print(text("crosscheck.zeros", lang, zeros=result.zeros, strict=_sci(result.strict_worst)))
    print(
        text(
            "crosscheck.times",
            lang,
            engine=result.engine,
            pysd=f"{result.pysd_seconds:.1f}",
            other=f"{result.engine_seconds:.1f}",
        )
    )


def cmd_crosscheck(args: argparse.Namespace) -> int:
    from hatinh_sd.crosscheck import ENGINES, TOLERANCE, crosscheck_engines
    from hatinh_sd.model import load_model

    if not 0 <= args.sets <= MAX_SETS:
        raise HatinhInputError(f"between 0 and {MAX_SETS}, not {args.sets}", key="--sets")
    check_seed(args.seed)
    engines = list(ENGINES) if args.engine == "all" else [args.engine]
    results = crosscheck_engines(load_model(), engines, sets=args.sets, seed=args.seed)
    lang = args.lang
    status = 0
    for result in results:
        _print(result, lang)
        if result.worst > TOLERANCE:
            print(text("crosscheck.differ", lang, tolerance=_sci(TOLERANCE)))
            status = 1
        else:
            print(text("crosscheck.agree", lang, tolerance=_sci(TOLERANCE)))
    return status


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crosscheck",
        help="run the calibrated model in independent engines (pysimlin, SDEverywhere) and in "
        "PySD, baseline and parameter sets drawn over the factor table, and compare every "
        "variable (exit 1 if they differ by more than 1e-9)",
    )
    p.add_argument(
        "--engine",
        choices=["simlin", "sdeverywhere", "all"],
        default="simlin",
        help="simlin: pysimlin (pip install pysimlin); sdeverywhere: SDEverywhere's compiler "
        "generates JavaScript run in Node.js (cd tools/sde && npm ci); all: both. Either runs "
        "the export with DELAY FIXED written as a chain of stocks (default: simlin)",
    )
    p.add_argument(
        "--sets",
        type=int,
        default=20,
        help="parameter sets drawn uniformly over the factor table's ranges (default: 20)",
    )
    p.add_argument(
        "--seed", type=int, default=20240601, help="seed of the draws (default: 20240601)"
    )
    p.set_defaults(func=cmd_crosscheck)
