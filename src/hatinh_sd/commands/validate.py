"""``hatinh-sd validate``: the validation dossier (Sterman's tests, fit, hold-out, family member)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hatinh_sd.i18n import text


def cmd_validate(args: argparse.Namespace) -> int:
    from hatinh_sd.model import load_model
    from hatinh_sd.validation import build_dossier, write_dossier

    model = load_model()
    dossier = build_dossier(
        model,
        holdout_year=args.holdout_year,
        run_tests=not args.no_tests,
        max_evaluations=args.max_evaluations,
    )
    path = write_dossier(
        dossier, Path(args.out) / "validation" / f"validation_{args.lang}.html", args.lang
    )
    print(dossier.checks.to_string(index=False))
    print(text("validate.wrote", args.lang, path=path))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="write the validation dossier (tests, fit, hold-out, family member) under outputs/validation/",
    )
    p.add_argument(
        "--holdout-year",
        type=int,
        default=2019,
        help="fit on data up to this year for the hold-out test (default 2019)",
    )
    p.add_argument(
        "--max-evaluations", type=int, default=300, help="budget of model runs for the hold-out fit"
    )
    p.add_argument(
        "--no-tests", action="store_true", help="do not run the structure and behaviour test suites"
    )
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_validate)
