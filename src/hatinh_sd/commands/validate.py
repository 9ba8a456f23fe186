"""``hatinh-sd validate``: the validation dossier (Sterman's tests, fit, hold-out, family member)."""

from __future__ import annotations

import argparse

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import text


def cmd_validate(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import check_fit_until
    from hatinh_sd.data import load_observed
    from hatinh_sd.dossier import write_dossier
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder
    from hatinh_sd.validation import build_dossier

    folder = output_folder(args.out, "validation")
    model = load_model()
    if args.max_evaluations < 1:
        raise HatinhInputError(
            f"must be at least 1, not {args.max_evaluations}", key="--max-evaluations"
        )
    if args.holdout_year:
        check_fit_until(model, load_observed(), args.holdout_year, "--holdout-year")
    dossier = build_dossier(
        model,
        holdout_year=args.holdout_year,
        run_tests=not args.no_tests,
        max_evaluations=args.max_evaluations,
        backtest=args.backtest,
        progress=lambda line: print("  " + line, flush=True),
    )
    path = write_dossier(dossier, folder / f"validation_{args.lang}.html", args.lang)
    print(dossier.checks.to_string(index=False))
    if dossier.backtest is not None:
        from hatinh_sd.backtest import mae_h1_3
        from hatinh_sd.results import atomic_dir, write_csv
        from hatinh_sd.validation import backtest_verdicts

        bt = dossier.backtest
        print()
        print(mae_h1_3(bt).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print(bt.coverage.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        for line in backtest_verdicts(bt):
            print(line)
        with atomic_dir(folder / "backtest") as tmp:
            write_csv(bt.forecasts, tmp / "forecasts.csv", index=False, float_format="%.6g")
            write_csv(bt.summary, tmp / "mae_by_horizon.csv", index=False, float_format="%.6g")
            write_csv(mae_h1_3(bt), tmp / "mae_h1_3.csv", index=False, float_format="%.6g")
            write_csv(bt.theil, tmp / "theil_u2.csv", index=False, float_format="%.6g")
            write_csv(bt.coverage, tmp / "coverage.csv", index=False, float_format="%.6g")
            write_csv(bt.parameters, tmp / "parameters.csv", index=False, float_format="%.6g")
        print(text("run.wrote", args.lang, path=folder))
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
    p.add_argument(
        "--backtest",
        action="store_true",
        help="forecast backtests: refit with data up to 2015, 2017 and 2019, forecast to 2022, compare with naive forecasts",
    )
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_validate)
