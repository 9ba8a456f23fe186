"""Bayesian calibration: the posterior of the fitted parameters and the structural uncertainties.

The measurement-error model is fixed before fitting by ``model/calibration_setup.yaml``:
each used observation ``i`` has a Gaussian error with scale
``sigma_i = tolerance_i / sqrt(weight_i)``, where the tolerance is the series' (or a
definitional variant's) and the weight combines the observation's status (R, D, E) and the
series weight. Each observation counts once (no down-weighting of long series: with it,
the in-sample 90 % predictive intervals held 96.5 % of the observations; without, 93 %).
Lower bounds ("over X") count only when the model falls below them.
The log-likelihood is ``-1/2 sum_i r_i^2`` with ``r_i`` the weighted residuals of
:class:`hatinh_sd.calibration.Likelihood`, so the point estimate of ``hatinh-sd calibrate``
is the maximum of the posterior within uniform priors.

The posterior is sampled by sequential Monte Carlo with adaptive tempering (Del Moral,
Doucet and Jasra 2006; Chopin 2002): particles drawn from the prior are moved through
``L^beta`` for beta from 0 to 1, reweighted so that each step keeps half the effective
sample size, resampled and moved by random-walk Metropolis steps whose proposal covariance
is the particles' own. Each step evaluates every particle at once with the ensemble
engine (:class:`hatinh_sd.ensemble.ArrayModel`), in worker processes.

The parameters are the ones marked ``calibrated:`` (uniform priors over their search
ranges) and, jointly, every uncertain factor of ``sensitivity/factors.csv`` (priors: their
factor distributions). Uncertainties that history cannot inform (those acting after
2022) keep their prior; those it informs are drawn consistently with the fitted
parameters, so ensembles drawn from the posterior reproduce history.

References
----------
Chopin, N. (2002). A sequential particle filter method for static models. Biometrika 89(3).
Del Moral, P., Doucet, A. and Jasra, A. (2006). Sequential Monte Carlo samplers. JRSS B 68(3).
Vernon, I., Goldstein, M. and Bower, R. (2010). Galaxy formation: a Bayesian uncertainty
analysis. Bayesian Analysis 5(4) (history matching and implausibility).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from hatinh_sd.calibration import CalibrationSetup, Likelihood
from hatinh_sd.errors import HatinhInputError, did_you_mean
from hatinh_sd.model import Model, library_versions
from hatinh_sd.project import current_project

__all__ = [
    "Evaluator",
    "estimates",
    "EstimateRow",
    "estimate_rows",
    "write_estimates",
    "run_posterior",
    "screen_uncertain",
    "Prior",
    "SMCResult",
    "load_posterior",
    "posterior_draws",
    "smc",
    "write_posterior",
]


# ------------------------------------------------------------------ prior
@dataclasses.dataclass(frozen=True)
class PriorParameter:
    """One parameter of the posterior: its model name, range and prior distribution."""

    name: str
    py_name: str
    low: float
    high: float
    distribution: str
    default: float
    role: str  # "calibrated" or "uncertain"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        from hatinh_sd.factors import Factor

        f = Factor(
            self.name,
            self.name,
            self.py_name,
            "",
            self.default,
            self.low,
            self.high,
            self.distribution,
            "uncertainty",
            "",
        )
        return f.ppf(u)


class Prior:
    """Priors of the posterior's parameters: uniform over the calibrated parameters'
    search ranges, the factor table's distributions for the uncertain constants.

    Sampling works on a standard normal space ``z``: ``x = ppf(Phi(z))`` maps it onto
    each prior, so the prior density in ``z`` is the standard normal.
    """

    def __init__(self, params: Sequence[PriorParameter]):
        self.params = list(params)
        if not self.params:
            raise HatinhInputError("the posterior needs at least one parameter")

    @classmethod
    def from_model(
        cls,
        model: Model,
        setup: CalibrationSetup,
        uncertain: Sequence[str] = (),
        *,
        factors_path: Path | str | None = None,
    ) -> Prior:
        """Priors of the fitted parameters and of the named uncertain constants.

        Fitted parameters: uniform over their search ranges; uncertain constants:
        their distributions in the factor table; ``setup.posterior.priors``
        replaces either.
        """
        from hatinh_sd.factors import load_factors

        factors = {f.variable: f for f in load_factors(factors_path, model)}
        out = []
        for n, (lo, hi) in setup.parameters.items():
            out.append(
                PriorParameter(
                    n, model.py_name(n), lo, hi, "uniform", model.defaults[n], "calibrated"
                )
            )
        for n in uncertain:
            if n in setup.parameters:
                continue
            f = factors.get(n)
            if f is None:
                raise HatinhInputError(
                    f"'{n}' is not an uncertain factor of the factor table", key=n
                )
            out.append(
                PriorParameter(n, f.py_name, f.low, f.high, f.distribution, f.default, "uncertain")
            )
        for i, p in enumerate(out):
            spec = setup.posterior.priors.get(p.name)
            if spec is not None:
                out[i] = dataclasses.replace(
                    p, low=spec.low, high=spec.high, distribution=spec.distribution
                )
        return cls(out)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def to_values(self, z: np.ndarray) -> np.ndarray:
        u = stats.norm.cdf(z)
        return np.column_stack([p.ppf(u[:, j]) for j, p in enumerate(self.params)])

    def sample_z(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal((n, len(self.params)))


# ------------------------------------------------------------------ evaluation
_WORKER: dict[str, Any] = {}


def _worker_init(
    mdl_path: str,
    calibration_path: str | None,
    setup_path: str,
    observed_path: str | None,
    fit_until: int | None,
    parent: int,
) -> None:
    import warnings

    from hatinh_sd.workers import stop_with_parent

    stop_with_parent(parent)

    from hatinh_sd.calibration import load_setup
    from hatinh_sd.data import load_observed
    from hatinh_sd.ensemble import ArrayModel
    from hatinh_sd.model import load_model

    warnings.simplefilter("ignore")
    model = load_model(mdl_path, calibration_path)
    setup = load_setup(model, setup_path)
    observed = load_observed(observed_path) if observed_path else load_observed()
    _WORKER["model"] = model
    _WORKER["engine"] = ArrayModel(model)
    _WORKER["lik"] = Likelihood(model, setup, observed, fit_until)


def _evaluate(
    py_names: list[str], values: np.ndarray, extra: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    engine, lik = _WORKER["engine"], _WORKER["lik"]
    arrays = {py: values[:, j] for j, py in enumerate(py_names)}
    mv, series = lik.run(engine, arrays, extra=extra)
    ll = lik.loglik(mv)
    extras = np.stack([series[e] for e in extra], axis=0) if extra else np.empty((0,))
    return ll, extras


class Evaluator:
    """Log-likelihoods of many parameter sets, in worker processes with the array engine."""

    def __init__(
        self,
        model: Model,
        setup: CalibrationSetup,
        *,
        observed_path: Path | str | None = None,
        fit_until: int | None = None,
        workers: int = 2,
        chunk: int = 1000,
    ):
        self.model = model
        self.workers = max(1, int(workers))
        self.chunk = chunk
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(
                str(model.mdl_path),
                str(model.calibration_path) if model.calibration_path else None,
                str(setup.path),
                str(observed_path) if observed_path else None,
                fit_until,
                os.getpid(),
            ),
        )
        self.evaluations = 0

    def __call__(
        self, names: list[str], values: np.ndarray, extra: Sequence[str] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """Log-likelihood of each row of ``values`` (and the ``extra`` outputs, var x run x time)."""
        py = [self.model.py_name(n) for n in names]
        n = values.shape[0]
        parts = max(self.workers, math.ceil(n / self.chunk))
        bounds = np.linspace(0, n, parts + 1).astype(int)
        futures = [
            self._pool.submit(_evaluate, py, values[a:b], list(extra))
            for a, b in zip(bounds[:-1], bounds[1:])
            if b > a
        ]
        results = [f.result() for f in futures]
        self.evaluations += n
        ll = np.concatenate([r[0] for r in results])
        ex = np.concatenate([r[1] for r in results], axis=1) if extra else np.empty((0,))
        return ll, ex

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ SMC
@dataclasses.dataclass
class SMCResult:
    """Posterior particles (equally weighted) and diagnostics of the sampler."""

    names: list[str]
    roles: list[str]
    values: np.ndarray  # (particles, parameters)
    loglik: np.ndarray
    stages: pd.DataFrame  # beta, ess, acceptance, moves, unique per stage
    evaluations: int
    seconds: float
    prior_ess: float

    @property
    def beta(self) -> float:
        """The last tempering exponent (1: the posterior was reached)."""
        return float(self.stages["beta"].iloc[-1]) if len(self.stages) else 0.0

    def summary(self) -> pd.DataFrame:
        q = np.quantile(self.values, [0.05, 0.5, 0.95], axis=0)
        return pd.DataFrame(
            {
                "parameter": self.names,
                "role": self.roles,
                "mean": self.values.mean(axis=0),
                "sd": self.values.std(axis=0, ddof=1),
                "p05": q[0],
                "median": q[1],
                "p95": q[2],
            }
        )

    def correlation(self, role: str | None = "calibrated") -> pd.DataFrame:
        sel = [i for i, r in enumerate(self.roles) if role is None or r == role]
        c = np.corrcoef(self.values[:, sel], rowvar=False)
        names = [self.names[i] for i in sel]
        return pd.DataFrame(np.atleast_2d(c), index=names, columns=names)


def _ess(logw: np.ndarray) -> float:
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return 1.0 / np.sum(w**2)


def _systematic_resample(logw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = np.exp(logw - logw.max())
    w /= w.sum()
    n = len(w)
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1)


def smc(
    evaluate: Callable[[list[str], np.ndarray], tuple[np.ndarray, np.ndarray]],
    prior: Prior,
    *,
    particles: int = 2000,
    seed: int = 20261201,
    ess_fraction: float = 0.5,
    target_moves: float = 2.0,
    max_moves: int = 12,
    max_stages: int = 200,
    max_seconds: float = math.inf,
    progress: Callable[[str], None] | None = None,
) -> SMCResult:
    """Sample the posterior by adaptive-tempering SMC.

    ``evaluate(names, values) -> (loglik, _)`` gives the log-likelihood of each row.
    At each stage the next tempering exponent keeps ``ess_fraction`` of the particles'
    effective sample size; after resampling, random-walk Metropolis moves (Gaussian, with
    the particles' covariance in the standard-normal space of the priors, scale tuned to
    the acceptance) continue until each particle has made about ``target_moves`` accepted
    moves on average or ``max_moves`` moves were tried.
    """
    if particles < 10:
        raise HatinhInputError(f"particles must be at least 10, not {particles}", key="particles")
    rng = np.random.default_rng(seed)
    names = prior.names
    d = len(names)
    start = time.perf_counter()
    z = prior.sample_z(particles, rng)
    x = prior.to_values(z)
    ll, _ = evaluate(names, x)
    evaluations = particles
    beta = 0.0
    stages = []
    scale = 2.38 / math.sqrt(d)
    prior_ess = float("nan")
    for stage in range(max_stages):
        finite = np.isfinite(ll)
        if not finite.any():
            raise RuntimeError("every particle has a non-finite likelihood")

        # next exponent: ESS of the incremental weights = ess_fraction * particles
        def ess_at(b: float, finite=finite, beta=beta, ll=ll) -> float:
            return _ess(np.where(finite, (b - beta) * ll, -np.inf))

        if ess_at(1.0) >= ess_fraction * particles:
            new_beta = 1.0
        else:
            lo, hi = beta, 1.0
            for _ in range(60):
                mid = (lo + hi) / 2
                if ess_at(mid) >= ess_fraction * particles:
                    lo = mid
                else:
                    hi = mid
            new_beta = max(lo, beta + 1e-12)
        logw = np.where(finite, (new_beta - beta) * ll, -np.inf)
        ess = _ess(logw)
        if stage == 0:
            prior_ess = _ess(np.where(finite, ll, -np.inf))
        beta = new_beta
        idx = _systematic_resample(logw, rng)
        z, x, ll = z[idx], x[idx], ll[idx]
        # Metropolis moves with the particles' covariance
        cov = np.cov(z, rowvar=False) + 1e-9 * np.eye(d)
        chol = np.linalg.cholesky(cov)
        accepted_total = 0.0
        moves = 0
        acc_rates = []
        while moves < max_moves and accepted_total < target_moves:
            prop = z + scale * rng.standard_normal(z.shape) @ chol.T
            xp = prior.to_values(prop)
            llp, _ = evaluate(names, xp)
            evaluations += particles
            log_ratio = (
                beta * (np.where(np.isfinite(llp), llp, -np.inf) - ll)
                - 0.5 * np.sum(prop**2, axis=1)
                + 0.5 * np.sum(z**2, axis=1)
            )
            accept = np.log(rng.random(particles)) < log_ratio
            z[accept], x[accept], ll[accept] = prop[accept], xp[accept], llp[accept]
            rate = float(accept.mean())
            acc_rates.append(rate)
            accepted_total += rate
            moves += 1
            # keep the acceptance near 0.25 (Roberts, Gelman and Gilks 1997)
            scale *= math.exp(rate - 0.25)
        unique = len(np.unique(np.round(z, 12), axis=0))
        stages.append(
            {
                "stage": stage,
                "beta": beta,
                "ess_before_resampling": ess,
                "moves": moves,
                "acceptance": float(np.mean(acc_rates)) if acc_rates else float("nan"),
                "unique_particles": unique,
                "loglik_median": float(np.median(ll)),
                "seconds": time.perf_counter() - start,
            }
        )
        if progress:
            s = stages[-1]
            progress(
                f"stage {stage}: beta {beta:.4g}, ESS {ess:.0f}, {moves} moves, acceptance {s['acceptance']:.2f}, "
                f"{unique} unique, median log-likelihood {s['loglik_median']:.1f}, {s['seconds']:.0f} s"
            )
        if beta >= 1.0 or time.perf_counter() - start > max_seconds:
            break
    return SMCResult(
        names=names,
        roles=[p.role for p in prior.params],
        values=x,
        loglik=ll,
        stages=pd.DataFrame(stages),
        evaluations=evaluations,
        seconds=time.perf_counter() - start,
        prior_ess=prior_ess,
    )


# ------------------------------------------------------------------ screening and the whole run
def screen_uncertain(
    model: Model,
    setup: CalibrationSetup,
    observed: pd.DataFrame,
    *,
    fit_until: int | None = None,
    factors_path: Path | str | None = None,
) -> pd.DataFrame:
    """How much history says about each uncertain constant.

    Each uncertain constant of the factor table (not fitted) is set to its low and to
    its high value, one at a time, with everything else at the point estimate; the
    larger change of the log-likelihood is its ``delta_loglik`` (all runs in one call
    of the array engine). Constants below ``setup.posterior.screen`` keep their prior.
    """
    from hatinh_sd.ensemble import ArrayModel
    from hatinh_sd.factors import load_factors

    factors = [
        f
        for f in load_factors(factors_path, model)
        if f.group == "uncertainty" and f.variable not in setup.parameters
    ]
    lik = Likelihood(model, setup, observed, fit_until)
    k = len(factors)
    X = np.tile([model.defaults[f.variable] for f in factors], (2 * k + 1, 1)).astype(float)
    for j, f in enumerate(factors):
        X[2 * j + 1, j] = f.low
        X[2 * j + 2, j] = f.high
    mv, _ = lik.run(ArrayModel(model), {f.py_name: X[:, j] for j, f in enumerate(factors)})
    ll = lik.loglik(mv)
    delta = np.array(
        [max(abs(ll[2 * j + 1] - ll[0]), abs(ll[2 * j + 2] - ll[0])) for j in range(k)]
    )
    delta = np.where(np.isfinite(delta), delta, np.inf)
    table = pd.DataFrame(
        {
            "parameter": [f.variable for f in factors],
            "delta_loglik": delta,
            "informed": delta >= setup.posterior.screen,
        }
    )
    return table.sort_values("delta_loglik", ascending=False, ignore_index=True)


def run_posterior(
    model: Model,
    setup: CalibrationSetup,
    *,
    observed_path: Path | str | None = None,
    workers: int = 2,
    fit_until: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[SMCResult, pd.DataFrame]:
    """Screen the uncertain constants, then sample the posterior of the fitted parameters
    jointly with the ones history informs. Returns the SMC result and the screen table."""
    from hatinh_sd.data import load_observed

    observed = load_observed(observed_path) if observed_path else load_observed()
    screen = screen_uncertain(model, setup, observed, fit_until=fit_until)
    informed = screen.loc[screen["informed"], "parameter"].tolist()
    if progress:
        progress(
            f"{len(setup.parameters)} fitted parameters; {len(informed)} of {len(screen)} uncertain "
            f"constants informed by history (log-likelihood change >= {setup.posterior.screen:g})"
        )
    prior = Prior.from_model(model, setup, informed)
    cfg = setup.posterior
    with Evaluator(
        model, setup, observed_path=observed_path, fit_until=fit_until, workers=workers
    ) as ev:
        result = smc(
            ev,
            prior,
            particles=cfg.particles,
            seed=cfg.seed,
            target_moves=cfg.moves,
            max_moves=max(12, math.ceil(4 * cfg.moves)),
            max_seconds=cfg.max_minutes * 60,
            progress=progress,
        )
    return result, screen


# ------------------------------------------------------------------ storage
def write_posterior(
    result: SMCResult,
    model: Model,
    path: Path | str | None = None,
    *,
    max_draws: int = 2000,
    extra_attrs: dict[str, Any] | None = None,
) -> Path:
    """Write at most ``max_draws`` posterior draws (thinned evenly) as a small netCDF file."""
    from hatinh_sd.results import write_netcdf

    n = result.values.shape[0]
    keep = np.unique(np.linspace(0, n - 1, min(n, max_draws)).round().astype(int))
    ds = xr.Dataset(
        {
            "value": (("draw", "parameter"), result.values[keep].astype(np.float64)),
            "loglik": (("draw",), result.loglik[keep]),
        },
        coords={
            "draw": np.arange(len(keep)),
            "parameter": result.names,
            "role": ("parameter", result.roles),
        },
        attrs={
            "title": f"Posterior draws of the {current_project().title['en']}'s fitted parameters "
            "and uncertainties",
            "model_sha256": model.hash,
            "equations_sha256": model.equations_hash,
            "library_versions": json.dumps(library_versions()),
            "calibration_sha256": model.calibration_hash,
            "method": "adaptive-tempering SMC (Del Moral, Doucet and Jasra 2006) on the ensemble engine",
            "particles": n,
            "stages": len(result.stages),
            "evaluations": result.evaluations,
            "seconds": round(result.seconds, 1),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **(extra_attrs or {}),
        },
    )
    path = Path(path) if path else current_project().path("posterior")
    write_netcdf(ds, path)
    return path


def estimates(result: SMCResult, setup: CalibrationSetup, point: dict[str, float]) -> pd.DataFrame:
    """The fitted parameters: point estimate, posterior standard error and 90 % interval.

    ``point`` holds the least-squares estimates (``model/calibration.yaml``: the mode
    with the other constants at their evidence values); the standard error and the
    interval are the posterior's, which also carries the uncertain constants history
    informs, so the interval need not centre on the point estimate.
    """
    summary = result.summary().set_index("parameter")
    rows = []
    for name, (low, high) in setup.parameters.items():
        s = summary.loc[name]
        x = point.get(name, math.nan)
        rows.append(
            {
                "parameter": name,
                "point": x,
                "se": s["sd"],
                "p05": s["p05"],
                "median": s["median"],
                "p95": s["p95"],
                "low": low,
                "high": high,
                "point_at_bound": bool(
                    math.isfinite(x) and min(x - low, high - x) < 0.005 * (high - low)
                ),
            }
        )
    return pd.DataFrame(rows)


class EstimateRow(Protocol):
    """A row of :func:`estimates`' table as ``DataFrame.itertuples`` gives it."""

    parameter: str
    point: float
    se: float
    p05: float
    median: float
    p95: float
    low: float
    high: float
    point_at_bound: bool


def estimate_rows(table: pd.DataFrame) -> Iterator[EstimateRow]:
    """``table.itertuples()`` for a table of :func:`estimates`, typed."""
    return cast("Iterator[EstimateRow]", table.itertuples())


def write_estimates(
    table: pd.DataFrame,
    correlation: pd.DataFrame,
    result: SMCResult,
    model: Model,
    path: Path | str,
) -> Path:
    """Add (or replace) the ``estimates`` section of the calibration file, atomically.

    The fitted values (``parameters``) stay as they are, byte for byte in meaning; the
    section records the posterior's standard errors, 90 % intervals and correlations.
    """
    import yaml

    from hatinh_sd.errors import read_yaml
    from hatinh_sd.results import atomic_file

    path = Path(path)
    text_before = path.read_text(encoding="utf-8")
    doc = read_yaml(path) or {}
    if not isinstance(doc, dict):
        raise HatinhInputError("expected a mapping (a calibration file)", path=path)
    header = "".join(line + "\n" for line in text_before.splitlines() if line.startswith("#"))

    def r(v: float) -> float:
        return float(f"{v:.4g}")

    doc["estimates"] = {
        "method": (
            "posterior of adaptive-tempering SMC (hatinh-sd calibrate --posterior; draws in "
            "model/posterior.nc): se = posterior standard deviation, interval = 5th-95th percentile"
        ),
        "model_sha256": model.hash,
        "equations_sha256": model.equations_hash,
        "particles": int(result.values.shape[0]),
        "final_beta": r(result.beta),
        "parameters": {
            row.parameter: {
                "se": r(row.se),
                "p05": r(row.p05),
                "median": r(row.median),
                "p95": r(row.p95),
            }
            for row in estimate_rows(table)
        },
        "correlation": {
            a: {b: round(float(correlation.loc[a, b]), 3) for b in correlation.columns if b != a}
            for a in correlation.index
        },
    }
    with atomic_file(path) as tmp:
        tmp.write_text(
            header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    return path


def load_posterior(path: Path | str | None = None) -> xr.Dataset:
    """The posterior draws file (the active project's by default)."""
    path = Path(path) if path else current_project().path("posterior")
    if not path.exists():
        raise HatinhInputError(
            "posterior draws not found (run: hatinh-sd calibrate --posterior)", path=path
        )
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def posterior_draws(
    model: Model, path: Path | str | None = None, *, check_hash: bool = True
) -> pd.DataFrame:
    """The committed posterior draws as a table (draw x parameter, model names).

    Raises
    ------
    HatinhInputError
        If the file is missing or belongs to another model file (``check_hash``).
    """
    path = Path(path) if path else current_project().path("posterior")
    ds = load_posterior(path)
    if (
        "value" not in ds
        or ds["value"].dims != ("draw", "parameter")
        or not ds.sizes["draw"]
        or not np.issubdtype(ds["value"].dtype, np.number)
    ):
        raise HatinhInputError(
            "not a posterior file: expected a numeric variable 'value' (draw, parameter) with "
            "at least one draw (run: hatinh-sd calibrate --posterior)",
            path=path,
        )
    if check_hash and not model.made_from(ds.attrs):
        raise HatinhInputError(
            f"posterior draws were drawn for other equations of {model.mdl_path.name} "
            "(run: hatinh-sd calibrate --posterior)",
            path=path,
        )
    draws = pd.DataFrame(ds["value"].values, columns=[str(p) for p in ds["parameter"].values])
    twice = draws.columns[draws.columns.duplicated()]
    if len(twice):
        raise HatinhInputError(
            f"'{twice[0]}' is drawn twice", path=path, key=f"parameter.{twice[0]}"
        )
    drawn = {n: p for n, p in model.parameters.items() if p.role in ("calibrated", "uncertain")}
    for name in draws.columns:
        par = drawn.get(name)
        if par is None:
            raise HatinhInputError(
                f"'{name}' is not a calibrated or uncertain constant of the model"
                + did_you_mean(name, drawn),
                path=path,
                key=f"parameter.{name}",
            )
        values = draws[name].to_numpy()
        bad = ~(np.isfinite(values) & (values >= par.low) & (values <= par.high))
        if bad.any():
            i = int(np.argmax(bad))
            raise HatinhInputError(
                f"draw {i} of '{name}' is {values[i]:g}, outside its range "
                f"[{par.low:g}, {par.high:g}] {par.units} (run: hatinh-sd calibrate --posterior)",
                path=path,
                key=f"parameter.{name}",
            )
    return draws
