"""``hatinh-sd calibrate``: fit the calibrated parameters to history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from hatinh_sd.i18n import text


def format_fit(table: pd.DataFrame) -> str:
    """A fit table as aligned text (MAPE in %, Theil shares as fractions)."""
    cols = ["series", "years", "n", "mape", "rmse", "r2", "um", "us", "uc"]
    return table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-")


def update_readme_fit(table: pd.DataFrame, path: Path) -> None:
    """Write the fit table between the fit markers of ``model/README.md``."""
    from hatinh_sd.results import atomic_file

    start, end = "<!-- fit:start -->", "<!-- fit:end -->"
    content = path.read_text(encoding="utf-8")
    if start not in content or end not in content:
        return
    lines = [
        "| series | years | n | MAPE % | RMSE | R² | U^M | U^S | U^C | sources |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        cells = [
            f"{v:.3g}"
            if isinstance(v, float) and v == v
            else ("-" if isinstance(v, float) else str(v))
            for v in (r.mape, r.rmse, r.r2, r.um, r.us, r.uc)
        ]
        lines.append(
            f"| {r.series} | {r.years} | {r.n} | " + " | ".join(cells) + f" | {r.sources} |"
        )
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    with atomic_file(path) as tmp:
        tmp.write_text(f"{head}{start}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def _previous_values(setup) -> dict[str, float]:
    """Start from the reviewed calibration's values that lie inside the search ranges.

    The optimiser is local: starting from the last accepted fit keeps successive
    calibrations comparable. Values outside the current ranges (after a range
    change) fall back to the .mdl's own.
    """
    import yaml

    from hatinh_sd.model import DEFAULT_CALIBRATION_PATH

    if not DEFAULT_CALIBRATION_PATH.exists():
        return {}
    try:
        doc = yaml.safe_load(DEFAULT_CALIBRATION_PATH.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return {}
    values = doc.get("parameters") or {}
    return {
        n: float(v)
        for n, v in values.items()
        if n in setup.parameters
        and isinstance(v, (int, float))
        and setup.parameters[n][0] <= v <= setup.parameters[n][1]
    }


def cmd_calibrate(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import (
        DEFAULT_FIT_TABLE_PATH,
        calibrate,
        load_setup,
        write_calibration,
    )
    from hatinh_sd.data import load_observed
    from hatinh_sd.model import DEFAULT_CALIBRATION_PATH, load_model, repo_root
    from hatinh_sd.results import atomic_dir

    # fit from the .mdl's own values: the result must not depend on (or fail
    # because of) the calibration file it is about to replace
    model = load_model(calibration_path=None)
    setup = load_setup(model, args.setup)
    observed = load_observed(args.observed) if args.observed else load_observed()

    def progress(n: int, cost: float) -> None:
        if n % 50 == 0:
            print(
                text("calibrate.progress", args.lang, n=n, cost=f"{cost:.4g}"),
                file=sys.stderr,
                flush=True,
            )

    start = (
        _previous_values(setup) if args.fit_until is None else None
    )  # a hold-out starts from the .mdl
    result = calibrate(
        model,
        setup,
        observed,
        start=start,
        fit_until=args.fit_until,
        max_evaluations=args.max_evaluations,
        progress=progress,
    )
    print(text("calibrate.fit_title", args.lang))
    print(format_fit(result.fit))
    for name in result.at_bound:
        print(text("calibrate.at_bound", args.lang, name=name, range=setup.parameters[name]))
    if args.fit_until is not None:
        print()
        print(text("calibrate.holdout_title", args.lang, year=args.fit_until))
        print(format_fit(result.holdout))
        print(text("calibrate.benchmark_title", args.lang, year=args.fit_until))
        print(format_fit(result.benchmark))
        record = repo_root() / "model" / f"calibration_holdout_{args.fit_until}.yaml"
        if not args.dry_run:
            write_calibration(result, model, record)
            print(text("run.wrote", args.lang, path=record))
        folder = Path(args.out) / "calibration" / f"holdout_{args.fit_until}"
        with atomic_dir(folder) as tmp:
            result.fit.to_csv(tmp / "fit.csv", index=False)
            result.holdout.to_csv(tmp / "holdout.csv", index=False)
            result.benchmark.to_csv(tmp / "naive_benchmark.csv", index=False)
            pd.Series(result.values).to_csv(tmp / "parameters.csv", header=["value"])
        print(text("run.wrote", args.lang, path=folder))
        return 0
    if args.dry_run:
        return 0
    write_calibration(result, model, DEFAULT_CALIBRATION_PATH)
    from hatinh_sd.results import atomic_file

    with atomic_file(DEFAULT_FIT_TABLE_PATH) as tmp:
        result.fit.to_csv(tmp, index=False, float_format="%.6g")
    update_readme_fit(result.fit, repo_root() / "model" / "README.md")
    print(text("run.wrote", args.lang, path=DEFAULT_CALIBRATION_PATH))
    print(text("run.wrote", args.lang, path=DEFAULT_FIT_TABLE_PATH))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from hatinh_sd.calibration import DEFAULT_SETUP_PATH

    p = sub.add_parser(
        "calibrate", help="fit the parameters marked 'calibrated' to model/data/observed.csv"
    )
    p.add_argument(
        "--fit-until",
        type=int,
        metavar="YEAR",
        help="fit on data up to YEAR and test on the later years (hold-out); records the fitted values in model/calibration_holdout_YEAR.yaml, never in the calibration file",
    )
    p.add_argument(
        "--setup",
        default=str(DEFAULT_SETUP_PATH),
        help="calibration setup (default: model/calibration_setup.yaml)",
    )
    p.add_argument("--observed", help="observed data file (default: model/data/observed.csv)")
    p.add_argument(
        "--max-evaluations",
        type=int,
        default=1000,
        help="approximate budget of model runs for the optimiser",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="fit and print, but do not write the calibration file",
    )
    p.add_argument("--out", default="outputs", help="output folder for hold-out results")
    p.set_defaults(func=cmd_calibrate)
