"""``hatinh-sd sensitivity morris|sobol --config FILE``: global sensitivity analysis."""

from __future__ import annotations

import argparse
import re
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from hatinh_sd.errors import NAME_PATTERN, HatinhInputError, check_name, did_you_mean
from hatinh_sd.i18n import text

if TYPE_CHECKING:
    import pandas as pd


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """Options of the ensemble engine shared by ``sensitivity`` and ``uncertainty``."""
    p.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler: tcp://HOST:PORT of a running cluster, or 'local' for a "
        "LocalCluster (default: a local process pool)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local processes (default: CPUs; 0: run in this process)",
    )
    p.add_argument("--chunk-size", type=int, default=None, help="samples per vectorised run")
    p.add_argument(
        "--no-progress",
        "--quiet",
        dest="no_progress",
        action="store_true",
        help="no progress (a bar on a terminal, otherwise one line per finished chunk)",
    )


def engine_kwargs(args: argparse.Namespace) -> dict:
    if args.workers is not None and args.workers < 0:
        raise HatinhInputError(f"must be at least 0, not {args.workers}", key="--workers")
    if args.workers == 0 and args.scheduler:
        raise HatinhInputError(
            "--workers 0 runs in this process; drop --scheduler", key="--workers"
        )
    return {
        "backend": "dask" if args.scheduler else "inline" if args.workers == 0 else "local",
        "scheduler": args.scheduler,
        "workers": args.workers,
        "progress": not args.no_progress,
    }


def sweep_store(out: str | Path, name: str, setup: bytes, chunk_size: int, model) -> Path:
    """Folder of a sweep's finished chunks, keyed by its set-up and the model.

    Re-running the same command resumes from it; a changed configuration,
    model or calibration gets a fresh folder.
    """
    import hashlib

    key = hashlib.sha256(
        setup + f"|{chunk_size}|{model.hash}|{model.calibration_hash}".encode()
    ).hexdigest()[:12]
    return Path(out) / ".chunks" / f"{name}-{key}"


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def group_table(cfg) -> pd.DataFrame:
    """The groups of a grouped configuration, one row per member factor; a task group
    left out is one row without a factor, with the reason."""
    import pandas as pd

    rows = [
        {
            "group": g.name,
            "kind": g.kind,
            "task_group": g.number,
            "title_en": g.title_en,
            "title_vi": g.title_vi,
            "factor": f,
            "note": "",
        }
        for g in cfg.groups
        for f in g.members
    ]
    rows += [
        {
            "group": f"task group {number}",
            "kind": "task_groups",
            "task_group": number,
            "title_en": title_en,
            "title_vi": title_vi,
            "factor": "",
            "note": f"left out: {reason.replace('_', ' ')}",
        }
        for number, title_vi, title_en, reason in cfg.groups_left_out
    ]
    out = pd.DataFrame(rows)
    out["task_group"] = out["task_group"].astype("Int64")
    return out


def group_attrs(cfg) -> dict[str, str]:
    """netCDF attributes recording the groups (members in ``groups.csv``)."""
    return {
        "groups": "; ".join(f"{g.name} ({len(g.members)} factors)" for g in cfg.groups),
        "groups_left_out": "; ".join(
            f"task group {n}: {reason.replace('_', ' ')}" for n, _, _, reason in cfg.groups_left_out
        )
        or "none",
    }


def plot_groups(cfg, table, folder: Path, lang: str) -> None:
    """Charts of a grouped analysis: per target (or output) the groups' shares of its
    variance in every year analysed (stacked bars); per year the shares of every target;
    per scalar output the groups ranked by ST with intervals."""
    from hatinh_sd.charts.sensitivity import plot_group_bars, plot_group_shares
    from hatinh_sd.sensitivity import group_labels

    labels = group_labels(cfg.groups, lang)
    analysed = set(table["output"])
    plot_shares = partial(
        plot_group_shares,
        labels=labels,
        s1_title=text("sensitivity.shares_s1", lang),
        st_title=text("sensitivity.shares_st", lang),
        interactions=text("sensitivity.shares_interactions", lang),
        ylabel=text("sensitivity.shares_ylabel", lang),
    )
    by_base: dict[str, list[tuple[str, int | None, str]]] = {}
    by_year: dict[int, list[tuple[str, int | None, str]]] = {}
    for spec in cfg.outputs:
        if spec.label not in analysed:
            continue
        if spec.every_year:
            years = sorted({int(y) for y in table.loc[table["output"] == spec.label, "year"]})
            by_base[spec.base] = [(spec.label, y, str(y)) for y in years]
            continue
        if spec.year is not None:
            by_year.setdefault(spec.year, []).append((spec.label, spec.year, spec.base))
        if not any(b[0].endswith("_every_year") for b in by_base.get(spec.base, [])):
            year = spec.year
            by_base.setdefault(spec.base, []).append(
                (spec.label, year, str(year) if year is not None else spec.label)
            )
        plot_group_bars(
            table,
            cfg.groups,
            spec.label,
            folder / f"bars_{_safe(spec.label)}.png",
            labels=labels,
            title=text("sensitivity.group_bars_title", lang, output=spec.label),
            xlabel=text("sensitivity.index_ST", lang),
        )
    for base, bars in by_base.items():
        plot_shares(
            table,
            cfg.groups,
            bars,
            folder / f"shares_{_safe(base)}.png",
            title=text("sensitivity.shares_title", lang, output=base),
        )
    for year, bars in by_year.items():
        if len(bars) > 1:
            plot_shares(
                table,
                cfg.groups,
                bars,
                folder / f"shares_{year}.png",
                title=text("sensitivity.shares_year_title", lang, year=year),
            )


def cmd_sensitivity(args: argparse.Namespace) -> int:
    import dataclasses

    from hatinh_sd.charts.sensitivity import plot_bars, plot_heatmap
    from hatinh_sd.model import load_model
    from hatinh_sd.results import atomic_dir, output_folder, write_csv, write_netcdf
    from hatinh_sd.sensitivity import (
        load_config,
        main_index,
        run_analysis,
        sample_size_problem,
        top_factors,
    )

    lang = args.lang
    model = load_model()
    args.config = str(_config_path(args.config))
    cfg = load_config(args.config, model)
    name = check_name(Path(args.config).stem, what="configuration file name", path=args.config)
    out = output_folder(args.out, name)
    if cfg.method != args.method:
        raise HatinhInputError(
            f"the file is a '{cfg.method}' configuration, not '{args.method}'",
            path=args.config,
            key="method",
        )
    if args.chunk_size is not None:
        if args.chunk_size < 1:
            raise HatinhInputError("must be at least 1", key="--chunk-size")
        cfg = dataclasses.replace(cfg, chunk_size=args.chunk_size)
    setup = Path(args.config).read_bytes()
    if args.n is not None:
        if (
            problem_n := sample_size_problem(
                cfg.method, args.n, len(cfg.factors), cfg.second_order, len(cfg.groups) or None
            )
        ) is not None:
            raise HatinhInputError(problem_n, key="--n")
        cfg = dataclasses.replace(cfg, n=args.n)
        setup += f"|n={args.n}".encode()
    kw = engine_kwargs(args)
    store = sweep_store(args.out, name, setup, cfg.chunk_size, model)
    t0 = time.perf_counter()
    res = run_analysis(cfg, model=model, store=store, **kw)
    elapsed = time.perf_counter() - t0
    table, conv = res.table, res.convergence
    key = main_index(cfg.method)
    unit = cfg.unit
    # columns that are not indices: the factor's lever/uncertainty group, or the group's kind
    labels_cols = ["variable", "group"] if unit == "factor" else ["variable", "kind", "n_factors"]
    with atomic_dir(out) as tmp:
        write_csv(table, tmp / "indices.csv", index=False, float_format="%.6g")
        ds = table.set_index(["output", unit]).drop(columns=labels_cols)
        ds = ds[~ds.index.get_level_values("output").str.endswith("_every_year")]
        provenance = {
            "model_sha256": model.hash,
            "calibration_sha256": model.calibration_hash or "none",
            "library_versions": res.ensemble.attrs["library_versions"],
        }
        if cfg.groups:
            provenance.update(group_attrs(cfg))
            write_csv(group_table(cfg), tmp / "groups.csv", index=False)
        ds.to_xarray().assign_attrs(provenance).to_netcdf(tmp / "indices.nc")
        yearly = table[table["output"].str.endswith("_every_year")]
        if len(yearly):
            yearly.set_index(["output", "year", unit]).drop(
                columns=labels_cols
            ).to_xarray().assign_attrs(provenance).to_netcdf(tmp / "indices_over_time.nc")
        if len(res.s2):
            write_csv(res.s2, tmp / "indices_S2.csv", index=False, float_format="%.6g")
        write_csv(conv, tmp / "convergence.csv", index=False, float_format="%.6g")
        write_csv(res.bad, tmp / "bad_runs.csv", index=False, float_format="%.10g")
        write_csv(res.skipped, tmp / "skipped_outputs.csv", index=False)
        write_netcdf(res.ensemble, tmp / "ensemble.nc")  # outputs and per-run factor values
        if cfg.groups:
            plot_groups(cfg, table, tmp, lang)
        for spec in cfg.outputs if not cfg.groups else []:
            if spec.label not in set(table["output"]):
                continue
            if spec.every_year:
                plot_heatmap(
                    table,
                    cfg.method,
                    spec.label,
                    tmp / f"heatmap_{_safe(spec.label)}.png",
                    title=text("sensitivity.heatmap_title", lang, output=spec.label),
                )
            else:
                plot_bars(
                    table,
                    cfg.method,
                    spec.label,
                    tmp / f"bars_{_safe(spec.label)}.png",
                    title=text(
                        "sensitivity.bars_title", lang, output=spec.label, method=cfg.method
                    ),
                    xlabel=text(f"sensitivity.index_{key}", lang),
                )
    print(
        text(
            "sensitivity.done",
            lang,
            method=cfg.method,
            runs=res.values.shape[0],
            seconds=f"{elapsed:.1f}",
        )
    )
    print(
        text(
            "sensitivity.check",
            lang,
            diff=f"{float(res.ensemble.attrs['check_max_rel_diff']):.2g}",
        )
    )
    if len(res.bad):
        print(text("sensitivity.bad_runs", lang, n=len(res.bad), path=out / "bad_runs.csv"))
    for r in res.skipped.itertuples():
        print(text("sensitivity.skipped", lang, output=r.output, year=r.year, n=r.non_finite_runs))
    if cfg.groups:
        print(
            text(
                "sensitivity.groups",
                lang,
                groups=len(cfg.groups),
                factors=len(cfg.factors),
                path=out / "groups.csv",
            )
        )
    for number, title_vi, title_en, reason in cfg.groups_left_out:
        print(
            text(
                "sensitivity.group_left_out",
                lang,
                number=number,
                title=title_vi if lang == "vi" else title_en,
                reason=text(f"sensitivity.{reason}", lang),
            )
        )
    analysed = set(table["output"])
    for spec in cfg.outputs:
        if spec.every_year or spec.label not in analysed:
            continue
        top = top_factors(table, cfg.method, spec.label, 5)
        items = ", ".join(f"{getattr(r, unit)} ({getattr(r, key):.3g})" for r in top.itertuples())
        print(f"  {spec.label}: {items}")
    worst = conv["abs_diff"].max()
    print(text("sensitivity.convergence", lang, index=key, diff=f"{worst:.3f}"))
    print(text("run.wrote", lang, path=out))
    return 0


def _config_path(value: str) -> Path:
    """``--config``: a file, or the name of one of the project's configurations (the YAML
    files beside its factor table, e.g. ``morris_all``); a clear error listing them."""
    from hatinh_sd.project import current_project

    path = Path(value)
    if path.exists():
        return path
    folder = current_project().factors.parent
    named = folder / f"{value}.yaml"
    if NAME_PATTERN.fullmatch(value) and named.is_file():
        return named
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    raise HatinhInputError(
        f"configuration file not found{did_you_mean(value, names)} (the project's "
        f"configurations: {', '.join(names) or 'none'}; or give a file)",
        path=path,
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sensitivity", help="global sensitivity analysis (Morris screening, Sobol indices)"
    )
    p.add_argument("method", choices=["morris", "sobol"])
    p.add_argument(
        "--config",
        required=True,
        help="a configuration file, or the name of one of the project's (morris_all: "
        "sensitivity/morris_all.yaml)",
    )
    p.add_argument(
        "--n",
        type=int,
        default=None,
        help="sample size instead of the configuration's n (Morris: trajectories; "
        "Sobol: base samples, a power of two)",
    )
    p.add_argument("--out", default="outputs/sensitivity", help="output folder")
    add_engine_options(p)
    p.set_defaults(func=cmd_sensitivity)
