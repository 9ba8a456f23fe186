"""``hatinh-sd calibrate``: fit the calibrated parameters to history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from hatinh_sd.errors import HatinhInputError, read_text
from hatinh_sd.i18n import text
from hatinh_sd.project import current_project


def format_fit(table: pd.DataFrame) -> str:
    """A fit table as aligned text (MAPE in %, Theil shares as fractions)."""
    cols = ["series", "years", "n", "mape", "rmse", "r2", "um", "us", "uc"]
    return table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-")


def update_readme_fit(table: pd.DataFrame, path: Path) -> None:
    """Write the fit table between the fit markers of ``model/README.md``."""
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
    update_readme_section(path, "fit", lines)


def _previous_values(setup) -> dict[str, float]:
    """Start from the reviewed calibration's values that lie inside the search ranges.

    The optimiser is local: starting from the last accepted fit keeps successive
    calibrations comparable. Values outside the current ranges (after a range
    change) fall back to the .mdl's own.
    """
    import yaml

    path = current_project().path("calibration")
    if not path.exists():
        return {}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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


def update_readme_section(path: Path, name: str, lines: list[str]) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    from hatinh_sd.results import atomic_file

    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = read_text(path)
    if start not in content or end not in content:
        return
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    with atomic_file(path) as tmp:
        tmp.write_text(f"{head}{start}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def _g(v: float) -> str:
    return f"{v:.3g}" if v == v else "-"


def estimates_lines(table: pd.DataFrame, correlation: pd.DataFrame, gamma: float) -> list[str]:
    """The estimates table of model/README.md (Markdown)."""
    lines = [
        "| parameter | point estimate | standard error | posterior 90 % interval | search range |",
        "|---|---|---|---|---|",
    ]
    from hatinh_sd.posterior import estimate_rows

    for r in estimate_rows(table):
        lines.append(
            f"| {r.parameter} | {_g(r.point)} | {_g(r.se)} | {_g(r.p05)} to {_g(r.p95)} | "
            f"{_g(r.low)} to {_g(r.high)} |"
        )
    c = correlation.to_numpy().copy()
    np.fill_diagonal(c, 0)
    i, j = (int(k) for k in np.unravel_index(np.argmax(np.abs(c)), c.shape))
    lines += [
        "",
        f"Largest posterior correlation: {c[i, j]:+.2f} ({correlation.index[i]} and "
        f"{correlation.columns[j]}); collinearity index of the fitted set at the point "
        f"estimate {gamma:.1f} (identifiable: <= 15, Brun et al. 2001). Full matrix: "
        "`model/calibration.yaml`, section `estimates`.",
    ]
    return lines


def cmd_identify(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import collinearity_index, identify, load_setup
    from hatinh_sd.data import load_observed
    from hatinh_sd.model import load_model
    from hatinh_sd.results import atomic_dir, output_folder, write_csv

    folder = output_folder(args.out, "calibration", "identify")
    model = load_model(calibration_path=args.calibration)
    setup = load_setup(model, args.setup)
    observed = load_observed(args.observed) if args.observed else load_observed()
    names = list(setup.candidates)
    res = identify(
        model,
        setup,
        dict(model.calibration),
        names,
        observed,
        threshold=setup.identify_threshold,
        max_size=setup.max_fitted,
    )
    J = res.sensitivity
    fitted = list(setup.parameters)
    gamma_fitted = collinearity_index(J[fitted].to_numpy())
    correlation = res.correlation.to_numpy(dtype=float)
    pair_rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            cols = J[[names[a], names[b]]].to_numpy()
            pair_rows.append(
                {
                    "parameter_1": names[a],
                    "parameter_2": names[b],
                    "collinearity_index": collinearity_index(cols),
                    "correlation": float(correlation[a, b]),
                }
            )
    pairs = pd.DataFrame(pair_rows).sort_values("collinearity_index", ascending=False)
    subsets = pd.DataFrame(
        [
            {"subset": "fitted", "size": len(fitted), "collinearity_index": gamma_fitted},
            {
                "subset": "proposed",
                "size": len(res.proposed),
                "collinearity_index": res.proposed_index,
            },
            {
                "subset": "all candidates",
                "size": len(names),
                "collinearity_index": res.collinearity_all,
            },
        ]
    )
    table = pd.DataFrame(
        {
            "parameter": res.importance.index,
            "importance": res.importance.values,
            "fitted": [n in setup.parameters for n in res.importance.index],
            "proposed": [n in res.proposed for n in res.importance.index],
        }
    )
    print(text("identify.importance", args.lang, n=len(names), obs=J.shape[0]))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print()
    print(text("identify.singular", args.lang))
    print("  " + ", ".join(f"{v:.3g}" for v in res.singular_values))
    print()
    print(text("identify.pairs", args.lang))
    print(pairs.head(10).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print()
    print(subsets.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(
        text(
            "identify.proposed",
            args.lang,
            n=len(res.proposed),
            threshold=f"{setup.identify_threshold:g}",
            gamma=f"{res.proposed_index:.3g}",
            names=", ".join(res.proposed),
        )
    )
    print(
        text(
            "identify.fitted",
            args.lang,
            n=len(fitted),
            gamma=f"{gamma_fitted:.3g}",
            verdict=text(
                "identify.ok" if gamma_fitted <= setup.identify_threshold else "identify.not_ok",
                args.lang,
            ),
        )
    )
    with atomic_dir(folder) as tmp:
        write_csv(J, tmp / "sensitivity.csv")
        write_csv(res.series_sensitivity, tmp / "series_sensitivity.csv")
        write_csv(table, tmp / "importance.csv", index=False)
        write_csv(
            pd.DataFrame({"singular_value": res.singular_values}),
            tmp / "singular_values.csv",
            index=False,
        )
        write_csv(res.correlation, tmp / "correlation.csv")
        write_csv(pairs, tmp / "collinearity_pairs.csv", index=False)
        write_csv(subsets, tmp / "collinearity_subsets.csv", index=False)
    print(text("run.wrote", args.lang, path=folder))
    return 0


def cmd_posterior(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import collinearity_index, identify, load_setup
    from hatinh_sd.model import load_model
    from hatinh_sd.posterior import (
        estimates,
        run_posterior,
        write_estimates,
        write_posterior,
    )
    from hatinh_sd.results import atomic_dir, check_writable, output_folder, write_csv

    folder = output_folder(args.out, "calibration", "posterior")
    if args.workers < 1:
        raise HatinhInputError(f"must be at least 1, not {args.workers}", key="--workers")
    target = Path(args.posterior_path)
    if target.is_dir():
        raise HatinhInputError(
            "is a folder; --posterior-path names the .nc file to write", path=target
        )
    check_writable(target.parent, "--posterior-path names the .nc file to write")
    calibration = Path(args.calibration)
    if not calibration.is_file():
        raise HatinhInputError(
            "no fitted values to start from: file not found (run: hatinh-sd calibrate)",
            path=calibration,
        )
    model = load_model(calibration_path=calibration)
    setup = load_setup(model, args.setup)
    if not model.calibration:
        raise HatinhInputError(
            "no fitted values to start from (run: hatinh-sd calibrate)", path=calibration
        )
    point = dict(model.calibration)

    def progress(line: str) -> None:
        print("  " + line, file=sys.stderr, flush=True)

    result, screen = run_posterior(
        model, setup, observed_path=args.observed, workers=args.workers, progress=progress
    )
    table = estimates(result, setup, point)
    corr = result.correlation()
    lin = identify(model, setup, point, list(setup.parameters), threshold=setup.identify_threshold)
    gamma = collinearity_index(lin.sensitivity.to_numpy())
    with atomic_dir(folder) as tmp:
        write_csv(table, tmp / "estimates.csv", index=False)
        write_csv(result.summary(), tmp / "summary.csv", index=False)
        write_csv(result.stages, tmp / "stages.csv", index=False)
        write_csv(corr, tmp / "correlation.csv")
        write_csv(screen, tmp / "screen.csv", index=False)
    write_posterior(
        result,
        model,
        args.posterior_path,
        max_draws=setup.posterior.draws,
        extra_attrs={
            "final_beta": result.beta,
            "uncertain_informed": int(screen["informed"].sum()),
            "uncertain_screened_out": int((~screen["informed"]).sum()),
            "screen_threshold": setup.posterior.screen,
            "seed": setup.posterior.seed,
        },
    )
    write_estimates(table, corr, result, model, calibration)
    project = current_project()
    if project.readme and calibration.resolve() == project.path("calibration").resolve():
        update_readme_section(project.readme, "estimates", estimates_lines(table, corr, gamma))
    last = result.stages.iloc[-1]
    print(
        text(
            "posterior.diagnostics",
            args.lang,
            stages=len(result.stages),
            beta=f"{result.beta:.3g}",
            ess=f"{last['ess_before_resampling']:.0f}",
            particles=result.values.shape[0],
            acceptance=f"{result.stages['acceptance'].mean():.2f}",
            unique=int(last["unique_particles"]),
            evaluations=result.evaluations,
            seconds=f"{result.seconds:.0f}",
        )
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(text("run.wrote", args.lang, path=args.posterior_path))
    print(text("run.wrote", args.lang, path=calibration))
    print(text("run.wrote", args.lang, path=folder))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    project = current_project()
    args.setup = args.setup or project.path("calibration_setup")
    args.calibration = args.calibration or project.path("calibration")
    args.posterior_path = args.posterior_path or project.path("posterior")
    if args.identify:
        return cmd_identify(args)
    if args.posterior:
        return cmd_posterior(args)
    from hatinh_sd.calibration import (
        calibrate,
        check_fit_until,
        fit_table_path,
        load_setup,
        write_calibration,
    )
    from hatinh_sd.data import load_observed
    from hatinh_sd.model import load_model
    from hatinh_sd.results import atomic_dir, output_folder, write_csv

    if args.fit_until is not None:
        folder = output_folder(args.out, "calibration", f"holdout_{args.fit_until}")
    # fit from the .mdl's own values: the result must not depend on (or fail
    # because of) the calibration file it is about to replace
    if args.max_evaluations is not None and args.max_evaluations < 1:
        raise HatinhInputError(
            f"must be at least 1, not {args.max_evaluations}", key="--max-evaluations"
        )
    model = load_model(calibration_path=None)
    setup = load_setup(model, args.setup)
    observed = load_observed(args.observed) if args.observed else load_observed()
    if args.fit_until is not None:
        check_fit_until(model, observed, args.fit_until, "--fit-until")

    def progress(n: int, cost: float) -> None:
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
        holdout, benchmark = result.holdout_tables()
        print()
        print(text("calibrate.holdout_title", args.lang, year=args.fit_until))
        print(format_fit(holdout))
        print(text("calibrate.benchmark_title", args.lang, year=args.fit_until))
        print(format_fit(benchmark))
        record = project.path("calibration").with_name(f"calibration_holdout_{args.fit_until}.yaml")
        if not args.dry_run:
            write_calibration(result, model, record)
            print(text("run.wrote", args.lang, path=record))
        with atomic_dir(folder) as tmp:
            write_csv(result.fit, tmp / "fit.csv", index=False)
            write_csv(holdout, tmp / "holdout.csv", index=False)
            write_csv(benchmark, tmp / "naive_benchmark.csv", index=False)
            write_csv(pd.Series(result.values, name="value"), tmp / "parameters.csv")
        print(text("run.wrote", args.lang, path=folder))
        return 0
    if args.dry_run:
        return 0
    written = write_calibration(result, model, project.path("calibration"))
    from hatinh_sd.results import atomic_file, write_csv

    with atomic_file(fit_table_path()) as tmp:
        write_csv(result.fit, tmp, index=False, float_format="%.6g")
    if project.readme:
        update_readme_fit(result.fit, project.readme)
    print(text("run.wrote", args.lang, path=written))
    print(text("run.wrote", args.lang, path=fit_table_path()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
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
        help="calibration setup (default: the project's, model/calibration_setup.yaml)",
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
    p.add_argument(
        "--identify",
        action="store_true",
        help="identifiability of the candidate parameters (sensitivities, singular values, collinearity); proposes the largest identifiable subset",
    )
    p.add_argument(
        "--posterior",
        action="store_true",
        help="sample the posterior (SMC on the ensemble engine); writes model/posterior.nc and the estimates section of the calibration file",
    )
    p.add_argument(
        "--calibration",
        help="calibration file read by --identify and --posterior, whose estimates --posterior writes (default: model/calibration.yaml)",
    )
    p.add_argument(
        "--posterior-path",
        help="where --posterior writes its draws (default: model/posterior.nc)",
    )
    p.add_argument("--workers", type=int, default=2, help="worker processes for --posterior")
    p.add_argument("--out", default="outputs", help="output folder for hold-out results and tables")
    p.set_defaults(func=cmd_calibrate)
