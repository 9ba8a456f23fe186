"""Global sensitivity analysis (Morris elementary effects, Sobol indices) with SALib.

A configuration (``sensitivity/<name>.yaml``) names the method, the factors
(rows of ``sensitivity/factors.csv``), the sample size, the seed and the
outputs. Factors are sampled on the unit hypercube by SALib and mapped to
their values through each factor's distribution
(:meth:`hatinh_sd.factors.Factor.ppf`); indices are therefore per unit of
quantile, comparable across factors of different units.

Outputs are one of::

    {target: T01}  # the target's variable in its year
    {target: T01, year: 2050}
    {variable: grdp, year: 2030}
    {variable: grdp, mean: [2021, 2030]}  # average over the years
    {variable: share_industry, every_year: true}
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from hatinh_sd.ensemble import DEFAULT_CHUNK_SIZE
from hatinh_sd.errors import HatinhInputError, parse_yaml, validate

__all__ = [
    "METHODS",
    "OutputSpec",
    "SensitivityConfig",
    "analyse",
    "convergence",
    "evaluate_outputs",
    "load_config",
    "sample",
]

METHODS = ("morris", "sobol")


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """One analysed output: a variable in a year, averaged over years, or every year."""

    label: str
    variable: str
    year: int | None = None
    mean: tuple[int, int] | None = None
    every_year: bool = False

    def years(self) -> list[int]:
        if self.year is not None:
            return [self.year]
        if self.mean is not None:
            return list(range(self.mean[0], self.mean[1] + 1))
        return []


@dataclasses.dataclass(frozen=True)
class SensitivityConfig:
    """A sensitivity run's settings (see the module docstring)."""

    method: str
    factors: list[Any]
    n: int
    seed: int
    outputs: list[OutputSpec]
    num_levels: int = 4
    second_order: bool = False
    num_resamples: int = 100
    chunk_size: int = DEFAULT_CHUNK_SIZE
    path: Path | None = None
    #: Path of the posterior draws when one factor is the posterior draw (``posterior: true``).
    posterior: Path | None = None
    #: Factors left out because the posterior draws them jointly.
    drawn_by_posterior: tuple[str, ...] = ()


#: Name of the factor that picks one posterior draw (all fitted parameters and the
#: uncertain constants history informs, jointly): uniform on [0, 1), draw floor(u * n).
POSTERIOR_FACTOR = "posterior draw"


def posterior_factor(path: Path) -> Any:
    """The factor that indexes the committed posterior draws (correlated inputs enter
    Saltelli's and Morris's designs as one independent factor)."""
    from hatinh_sd.factors import Factor

    return Factor(
        POSTERIOR_FACTOR,
        POSTERIOR_FACTOR,
        "",
        "index (0-1)",
        0.5,
        0.0,
        1.0,
        "uniform",
        "posterior",
        f"{path.name}: posterior of the fitted parameters and history-informed constants",
    )


def expand_posterior(
    cfg: SensitivityConfig, values: np.ndarray, model: Any
) -> tuple[list[str], np.ndarray]:
    """The constants a design sets: the posterior-draw column becomes the draws' values."""
    names = [f.variable for f in cfg.factors]
    if cfg.posterior is None:
        return names, values
    from hatinh_sd.posterior import posterior_draws

    draws = posterior_draws(model, cfg.posterior)
    j = names.index(POSTERIOR_FACTOR)
    idx = np.minimum((values[:, j] * len(draws)).astype(int), len(draws) - 1)
    rest = [n for n in names if n != POSTERIOR_FACTOR]
    return rest + list(draws.columns), np.hstack(
        [np.delete(values, j, axis=1), draws.to_numpy(dtype=float)[idx]]
    )


def _err(msg: str, path: Path, key: str) -> HatinhInputError:
    return HatinhInputError(msg, path=path, key=key)


#: Most model runs one analysis may ask for: the sample alone is
#: runs x factors x 8 bytes (about 300 MB for 75 factors), the results more.
MAX_RUNS = 500_000


def sample_size_problem(method: str, n: int, k: int, second_order: bool = False) -> str | None:
    """What is wrong with sample size ``n`` of ``k`` factors (``None`` when it can run)."""
    if method == "sobol" and (n < 2 or n & (n - 1)):
        return f"n = {n}: Sobol sampling needs a power of two (e.g. 256, 512, 1024)"
    if method == "morris" and n < 2:
        return f"n = {n}: Morris needs at least 2 trajectories"
    runs = n * (k + 1) if method == "morris" else n * (2 * k + 2 if second_order else k + 2)
    if runs > MAX_RUNS:
        return (
            f"n = {n} with {k} factors means {runs:,} runs ({runs * k * 8 / 1e6:,.0f} MB of"
            f" samples alone); at most {MAX_RUNS:,} runs"
        )
    return None


class _OutputEntry(BaseModel):
    """One output of a configuration (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = None
    variable: str | None = None
    year: StrictInt | None = None
    mean: tuple[StrictInt, StrictInt] | None = None
    every_year: StrictBool = False


class _ConfigFile(BaseModel):
    """The file's shape and types; what needs the model (factors, targets, variables,
    sample size against the number of factors) is checked by :func:`load_config`."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["morris", "sobol"]
    description: str = ""
    factors: Literal["all", "lever", "uncertainty"] | list[str] = "all"
    factor_table: str | None = None
    posterior: StrictBool | str = False
    n: StrictInt
    seed: StrictInt = Field(12345, ge=0)
    num_levels: StrictInt = Field(4, ge=2)
    second_order: StrictBool = False
    num_resamples: StrictInt = Field(100, ge=1)
    chunk_size: StrictInt = Field(DEFAULT_CHUNK_SIZE, ge=1)
    outputs: list[_OutputEntry] = Field(min_length=1)

    @field_validator("factors")
    @classmethod
    def _each_once(cls, value: object) -> object:
        if isinstance(value, list):
            twice = sorted({n for n in value if value.count(n) > 1})
            if twice:
                raise ValueError(f"factor(s) {', '.join(twice)} listed twice")
        return value


def load_config(path: Path | str, model: Any = None) -> SensitivityConfig:
    """Read and check a sensitivity configuration.

    Raises
    ------
    HatinhInputError
        Unknown keys or method, unknown factors or outputs, or a sample size
        SALib cannot use (Sobol: a power of two; Morris: at least 2 trajectories
        and an even number of levels).
    """
    from hatinh_sd.data import load_targets
    from hatinh_sd.factors import DEFAULT_FACTORS_PATH, load_factors
    from hatinh_sd.model import load_model, repo_root
    from hatinh_sd.targets import INDICATOR_VARIABLES

    path = Path(path)
    doc, node = parse_yaml(path, missing="configuration file not found")
    if not isinstance(doc, dict):
        raise _err("expected a mapping (method, factors, n, outputs, ...)", path, "")
    cfg = validate(_ConfigFile, doc, path, node)
    doc = cfg.model_dump(exclude_unset=True)
    doc["outputs"] = [o.model_dump(exclude_unset=True) for o in cfg.outputs]
    method = cfg.method
    model = model or load_model()
    table = doc.get("factor_table")
    table_path = (repo_root() / table) if table else DEFAULT_FACTORS_PATH
    sel = doc.get("factors", "all")
    if sel == "all":
        factors = load_factors(table_path, model)
    elif sel in ("lever", "uncertainty"):
        factors = [f for f in load_factors(table_path, model) if f.group == sel]
    else:
        try:
            factors = load_factors(table_path, model, names=sel)
        except HatinhInputError as exc:
            raise _err(exc.message, path, "factors") from None
    post = cfg.posterior
    posterior_path = None
    dropped: list[str] = []
    if post:
        from hatinh_sd.posterior import DEFAULT_POSTERIOR_PATH, posterior_draws

        posterior_path = DEFAULT_POSTERIOR_PATH if post is True else repo_root() / str(post)
        try:
            columns = set(posterior_draws(model, posterior_path).columns)
        except HatinhInputError as exc:
            raise _err(exc.message, path, "posterior") from None
        dropped = [f.name for f in factors if f.variable in columns]
        factors = [f for f in factors if f.variable not in columns] + [
            posterior_factor(posterior_path)
        ]
    if len(factors) < 2:
        raise _err("at least two factors are needed", path, "factors")

    second, n, seed = cfg.second_order, cfg.n, cfg.seed
    num_levels, chunk_size, num_resamples = cfg.num_levels, cfg.chunk_size, cfg.num_resamples
    if (problem_n := sample_size_problem(method, n, len(factors), second)) is not None:
        raise _err(problem_n, path, "n")
    if method == "morris":
        if num_levels < 2 or num_levels % 2:
            raise _err(
                f"num_levels = {num_levels}: Morris needs an even number >= 2", path, "num_levels"
            )

    targets = load_targets()
    specs: list[OutputSpec] = []
    first, last = int(model.initial_time), int(model.final_time)
    for i, item in enumerate(doc["outputs"]):
        key = f"outputs.{i}"
        if "target" in item:
            tid = str(item["target"])
            row = targets.loc[targets["target_id"] == tid]
            if row.empty or row.iloc[0]["indicator"] not in INDICATOR_VARIABLES:
                ok = [
                    t
                    for t in targets["target_id"]
                    if targets.set_index("target_id").loc[t, "indicator"] in INDICATOR_VARIABLES
                ]
                raise _err(f"unknown target '{tid}'; allowed: {', '.join(ok)}", path, key)
            var = INDICATOR_VARIABLES[row.iloc[0]["indicator"]]
            year = item.get("year", int(row.iloc[0]["year"]))
            label_base = tid
        elif "variable" in item:
            try:
                var = model.py_name(str(item["variable"]))
            except KeyError:
                close = difflib.get_close_matches(str(item["variable"]), model.outputs, n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise _err(
                    f"'{item['variable']}' is not a model variable{hint}", path, key
                ) from None
            if var not in model.outputs:
                raise _err(f"'{item['variable']}' does not vary over time", path, key)
            year = item.get("year")
            label_base = var
        else:
            raise _err("an output needs 'target' or 'variable'", path, key)
        if item.get("every_year"):
            specs.append(
                OutputSpec(label=f"{label_base}_every_year", variable=var, every_year=True)
            )
            continue
        if "mean" in item:
            span = item["mean"]
            if not first <= span[0] <= span[1] <= last:
                raise _err(f"mean must be [FIRST, LAST] years within {first}-{last}", path, key)
            specs.append(
                OutputSpec(
                    label=f"{label_base}_mean_{span[0]}_{span[1]}",
                    variable=var,
                    mean=(span[0], span[1]),
                )
            )
            continue
        if year is None or not first <= year <= last:
            raise _err(f"year must be a year within {first}-{last}, not {year}", path, key)
        specs.append(OutputSpec(label=f"{label_base}_{year}", variable=var, year=int(year)))
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise _err("an output is listed twice", path, "outputs")
    return SensitivityConfig(
        method=method,
        factors=factors,
        n=n,
        seed=seed,
        outputs=specs,
        num_levels=num_levels,
        second_order=second,
        num_resamples=num_resamples,
        chunk_size=chunk_size,
        path=path,
        posterior=posterior_path,
        drawn_by_posterior=tuple(dropped),
    )


def problem(names: list[str]) -> dict[str, Any]:
    """SALib problem on the unit hypercube for factors ``names``."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def sample(
    method: str,
    prob: dict[str, Any],
    n: int,
    seed: int,
    *,
    num_levels: int = 4,
    second_order: bool = False,
) -> np.ndarray:
    """Draw SALib's design (unit hypercube) for ``method``."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, n, num_levels=num_levels, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(prob, n, calc_second_order=second_order, seed=seed)


def analyse(
    method: str,
    prob: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    num_levels: int = 4,
    second_order: bool = False,
    num_resamples: int = 100,
) -> dict[str, Any]:
    """Indices of one output ``y`` (one value per row of ``x``).

    Returns
    -------
    dict
        Morris: ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``; Sobol: ``S1``,
        ``S1_conf``, ``ST``, ``ST_conf`` (and ``S2``, ``S2_conf``); arrays by factor.
    """
    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise ValueError("output has NaN or infinite values; see the bad-runs report")
    if method == "morris":
        from SALib.analyze import morris

        r = morris.analyze(
            prob, x, y, num_levels=num_levels, num_resamples=num_resamples, seed=seed
        )
        return {
            k: np.asarray(r[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma", "mu")
        }
    from SALib.analyze import sobol

    r = sobol.analyze(
        prob, y, calc_second_order=second_order, num_resamples=num_resamples, seed=seed
    )
    keys = ["S1", "S1_conf", "ST", "ST_conf"] + (["S2", "S2_conf"] if second_order else [])
    return {k: np.asarray(r[k], dtype=float) for k in keys}


def evaluate_outputs(ds: xr.Dataset, specs: list[OutputSpec]) -> dict[str, np.ndarray]:
    """Scalar outputs (label -> one value per sample), and every-year outputs (label -> sample x time)."""
    out: dict[str, np.ndarray] = {}
    for s in specs:
        da = ds[s.variable]
        if s.every_year:
            out[s.label] = da.transpose("sample", "time").values
        elif s.mean is not None:
            out[s.label] = da.sel(time=s.years()).mean("time").values
        else:
            out[s.label] = da.sel(time=s.year).values
    return out


def _rows_for_half(method: str, n_rows: int, n: int) -> int:
    """Rows of the design that form the same design at half the size."""
    return (n_rows // n) * (n // 2)


def indices_table(
    cfg: SensitivityConfig,
    x: np.ndarray,
    values: dict[str, np.ndarray],
    times: np.ndarray,
    *,
    rows: int | None = None,
    every_year_step: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Indices of every output as a long table, S2 (Sobol, if asked), and skipped outputs.

    An output (or year) with a NaN or infinite value in any run is not
    analysed: it is listed in the third table with the number of such runs
    (the runs themselves are reported by :func:`hatinh_sd.ensemble.bad_runs`).

    ``rows`` restricts the analysis to the first rows of the design (convergence).
    """
    names = [f.name for f in cfg.factors]
    prob = problem(names)
    rows = rows or x.shape[0]
    recs: list[dict[str, Any]] = []
    s2recs: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    kw = dict(
        seed=cfg.seed,
        num_levels=cfg.num_levels,
        second_order=cfg.second_order,
        num_resamples=cfg.num_resamples,
    )
    for s in cfg.outputs:
        y = values[s.label]
        series: list[tuple[int | None, np.ndarray]]
        if s.every_year:
            series = [(int(t), y[:rows, j]) for j, t in enumerate(times)][::every_year_step]
            series = [(t, v) for t, v in series if t > int(times[0])]
        else:
            series = [(s.year if s.year is not None else None, y[:rows])]
        for year, v in series:
            n_bad = int((~np.isfinite(v)).sum())
            if n_bad:
                skipped.append({"output": s.label, "year": year, "non_finite_runs": n_bad})
                continue
            res = analyse(cfg.method, prob, x[:rows], v, **kw)  # type: ignore[arg-type]
            for i, name in enumerate(names):
                rec = {
                    "output": s.label,
                    "variable": s.variable,
                    "year": year,
                    "factor": name,
                    "group": cfg.factors[i].group,
                }
                for k, arr in res.items():
                    if k in ("S2", "S2_conf"):
                        continue
                    rec[k] = float(arr[i])
                recs.append(rec)
            if "S2" in res:
                for i in range(len(names)):
                    for j in range(i + 1, len(names)):
                        s2recs.append(
                            {
                                "output": s.label,
                                "year": year,
                                "factor_i": names[i],
                                "factor_j": names[j],
                                "S2": float(res["S2"][i, j]),
                                "S2_conf": float(res["S2_conf"][i, j]),
                            }
                        )
    return (
        pd.DataFrame(recs),
        pd.DataFrame(s2recs),
        pd.DataFrame(skipped, columns=["output", "year", "non_finite_runs"]),
    )


def main_index(method: str) -> str:
    """The index that ranks factors: ``mu_star`` (Morris) or ``ST`` (Sobol)."""
    return "mu_star" if method == "morris" else "ST"


def convergence(full: pd.DataFrame, half: pd.DataFrame, method: str) -> pd.DataFrame:
    """Indices at N and N/2 side by side, per scalar output and factor.

    Morris mu* is normalised by the output's largest mu* so that differences
    read as shares of the leading factor's effect.
    """
    key = main_index(method)
    cols = ["output", "factor"]
    a = full.loc[~full["output"].str.endswith("_every_year"), cols + [key]].copy()
    b = half.loc[~half["output"].str.endswith("_every_year"), cols + [key]].copy()
    if method == "morris":
        for df in (a, b):
            df[key] = df[key] / df.groupby("output")[key].transform("max").replace(0, np.nan)
    m = a.merge(b, on=cols, suffixes=("_N", "_N2"))
    m["abs_diff"] = (m[f"{key}_N"] - m[f"{key}_N2"]).abs()
    return m


def top_factors(table: pd.DataFrame, method: str, output: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` factors with the largest main index for ``output``."""
    key = main_index(method)
    t = table.loc[table["output"] == output].sort_values(key, ascending=False)
    return t.head(k)


# ------------------------------------------------------------------- charts
def plot_bars(
    table: pd.DataFrame,
    method: str,
    output: str,
    path: Path,
    *,
    top: int = 15,
    title: str = "",
    xlabel: str = "",
) -> None:
    """Ranked horizontal bars of the main index with its confidence interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = main_index(method)
    conf = f"{key}_conf"
    t = top_factors(table, method, output, top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 1.5))
    colours = ["#1f77b4" if g == "lever" else "#ff7f0e" for g in t["group"]]
    ax.barh(t["factor"], t[key], xerr=t[conf], color=colours, capsize=3)
    from matplotlib.patches import Patch

    handles = [Patch(color="#1f77b4", label="lever"), Patch(color="#ff7f0e", label="uncertainty")]
    if method == "sobol":
        handles.append(
            ax.scatter(t["S1"], t["factor"], color="black", marker="|", s=120, zorder=3, label="S1")
        )
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel or key)
    ax.set_title(title or output, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_heatmap(
    table: pd.DataFrame, method: str, output: str, path: Path, *, top: int = 15, title: str = ""
) -> None:
    """Heatmap of first-order indices (Morris: normalised mu*) of an every-year output over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = "S1" if method == "sobol" else "mu_star"
    t = table.loc[table["output"] == output]
    grid = t.pivot_table(index="factor", columns="year", values=key)
    if method == "morris":
        grid = grid / grid.max(axis=0).replace(0, np.nan)
    order = grid.mean(axis=1).sort_values(ascending=False).index[:top]
    grid = grid.loc[order]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(grid) + 1.8))
    im = ax.imshow(grid.values, aspect="auto", cmap="viridis", vmin=0)
    ax.set_yticks(range(len(grid)), grid.index)
    years = [int(y) for y in grid.columns]
    step = max(1, len(years) // 10)
    ax.set_xticks(range(0, len(years), step), years[::step])
    fig.colorbar(im, ax=ax, label=key if method == "sobol" else "mu* / max mu*")
    ax.set_title(title or output, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_analysis(
    cfg: SensitivityConfig,
    *,
    model: Any = None,
    run: Callable[..., xr.Dataset] | None = None,
    **ensemble_kw: Any,
) -> dict[str, Any]:
    """Sample, run the ensemble, analyse; return the design, results and tables."""
    from hatinh_sd.ensemble import bad_runs, run_ensemble
    from hatinh_sd.factors import to_values
    from hatinh_sd.model import load_model

    model = model or load_model()
    names = [f.name for f in cfg.factors]
    prob = problem(names)
    x = sample(
        cfg.method, prob, cfg.n, cfg.seed, num_levels=cfg.num_levels, second_order=cfg.second_order
    )
    values = to_values(cfg.factors, x)
    constants, run_values = expand_posterior(cfg, values, model)
    outputs = sorted({s.variable for s in cfg.outputs})
    ds = (run or run_ensemble)(
        run_values,
        constants,
        outputs=outputs,
        model=model,
        chunk_size=cfg.chunk_size,
        seed=cfg.seed,
        **ensemble_kw,
    )
    bad = bad_runs(ds)
    ys = evaluate_outputs(ds, cfg.outputs)
    times = ds["time"].values
    table, s2, skipped = indices_table(cfg, x, ys, times)
    half_rows = _rows_for_half(cfg.method, x.shape[0], cfg.n)
    half, _, _ = indices_table(
        dataclasses.replace(
            cfg, outputs=[s for s in cfg.outputs if not s.every_year], n=cfg.n // 2
        ),
        x,
        ys,
        times,
        rows=half_rows,
    )
    conv = convergence(table, half, cfg.method)
    return {
        "x": x,
        "values": values,
        "ensemble": ds,
        "bad": bad,
        "table": table,
        "s2": s2,
        "skipped": skipped,
        "convergence": conv,
    }
