"""Bayesian calibration: the posterior of the fitted parameters and the structural uncertainties.

The measurement-error model is fixed before fitting by ``model/calibration_setup.yaml``:
each used observation ``i`` has a Gaussian error with scale
``sigma_i = tolerance_i / sqrt(weight_i)``, where the tolerance is the series' (or a
definitional variant's) and the weight combines the observation's status (R, D, E), the
series weight and ``1 / sqrt(n)`` for a series of ``n`` points (errors within a series
are partly shared). Lower bounds ("over X") count only when the model falls below them.
The log-likelihood is ``-1/2 sum_i r_i^2`` with ``r_i`` the weighted residuals of
:func:`hatinh_sd.calibration.residuals`, so the point estimate of ``hatinh-sd calibrate``
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
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from hatinh_sd.calibration import (
    DERIVED,
    CalibrationSetup,
    _variables,
    fine_times,
    observations,
)
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model, repo_root

__all__ = [
    "DEFAULT_POSTERIOR_PATH",
    "Likelihood",
    "Prior",
    "SMCResult",
    "load_posterior",
    "posterior_draws",
    "smc",
    "write_posterior",
]

DEFAULT_POSTERIOR_PATH = repo_root() / "model" / "posterior.nc"

#: What the history-consistency check compares (Calibration v2 issue): GRDP in 2021
#: within 5 %, GRDP per capita in 2022 within 8 %, T07 in 2025 within 3 points.
HISTORY_TOLERANCES = {
    "grdp_2021": ("grdp", 2021, "relative", 0.05),
    "grdp_per_capita_2022": ("grdp_per_capita_current", 2022, "relative", 0.08),
    "t07_2025": ("employment_share_agriculture", 2025, "points", 3.0),
}


# ------------------------------------------------------------------ likelihood
class Likelihood:
    """The calibration's weighted residuals, for many runs at once.

    Parameters
    ----------
    model : Model
    setup : CalibrationSetup
    observed : DataFrame
        ``load_observed()`` rows.
    fit_until : int, optional
        Use only observations up to this year.
    """

    def __init__(
        self,
        model: Model,
        setup: CalibrationSetup,
        observed: pd.DataFrame,
        fit_until: int | None = None,
    ):
        obs = observations(observed, setup)
        keep = obs["used"].to_numpy() & (obs["weight"].to_numpy() > 0)
        if fit_until is not None:
            keep &= (obs["year"] <= fit_until).to_numpy()
        self.obs = obs[keep].reset_index(drop=True)
        self.setup = setup
        self.times = fine_times(model)
        self.variables = _variables(setup)
        t = self.times
        rows = []
        for r in self.obs.itertuples():
            spec = setup.series[r.indicator]
            if spec.kind == "mean":
                idx = [self._window(r.t0, r.t1)]
            elif spec.kind == "growth":
                idx = [self._window(r.t0, r.t1), self._window(r.t0 - 1, r.t1 - 1)]
            elif spec.kind == "cumulative":
                idx = [
                    self._window(y - 0.5, y + 0.5)
                    for y in range(int(spec.from_year or r.year), r.year + 1)
                ]
            else:  # end: linear interpolation at t1
                x = min(r.t1, t[-1])
                j = int(np.searchsorted(t, x, side="right") - 1)
                j = min(max(j, 0), len(t) - 2)
                w = (x - t[j]) / (t[j + 1] - t[j])
                idx = [(j, w)]
            rows.append((spec.kind, r.variable, idx, spec.factor, spec.error))
        self._rows = rows
        self.observed = self.obs["observed"].to_numpy(dtype=float)
        self.lower = self.obs["lower_bound"].to_numpy(dtype=bool)
        self.sqrt_weight = np.sqrt(self.obs["weight"].to_numpy(dtype=float))
        self.tolerance = self.obs["tolerance"].to_numpy(dtype=float)
        self.relative = np.array([row[4] == "relative" for row in rows])

    def _window(self, t0: float, t1: float) -> np.ndarray:
        t = self.times
        sel = (t >= t0 - 1e-9) & (t < t1 - 1e-9)
        if not sel.any():
            sel = np.abs(t - min(max(t0, t[0]), t[-1])) < 1e-9
        return np.flatnonzero(sel)

    @property
    def outputs(self) -> list[str]:
        """Model variables (PySD names) a run must return."""
        return self.variables

    def _series(self, out: dict[str, np.ndarray], var: str) -> np.ndarray:
        if var == "share_services_and_product_taxes":
            return out["share_services"] + out["share_product_taxes"]
        if var == "labour_force_participation_percent":
            return out["labour_force"] / out["population_15_plus"] * 100
        if var in DERIVED:  # pragma: no cover - every derived quantity is handled above
            raise KeyError(var)
        return out[var]

    def model_values(self, out: dict[str, np.ndarray]) -> np.ndarray:
        """Model value of each observation for every run: (runs, observations)."""
        n = next(iter(out.values())).shape[0]
        mv = np.empty((n, len(self._rows)))
        cache: dict[str, np.ndarray] = {}
        for i, (kind, var, idx, factor, _error) in enumerate(self._rows):
            if var not in cache:
                cache[var] = self._series(out, var)
            s = cache[var]
            if kind == "mean":
                mv[:, i] = s[:, idx[0]].mean(axis=1) * factor
            elif kind == "growth":
                mv[:, i] = (s[:, idx[0]].mean(axis=1) / s[:, idx[1]].mean(axis=1) - 1) * 100
            elif kind == "cumulative":
                mv[:, i] = sum(s[:, w].mean(axis=1) for w in idx) * factor
            else:
                j, w = idx[0]
                mv[:, i] = (s[:, j] * (1 - w) + s[:, j + 1] * w) * factor
        return mv

    def residuals(self, mv: np.ndarray) -> np.ndarray:
        """Weighted residuals (runs, observations), as :func:`calibration.residuals`."""
        diff = mv - self.observed
        diff = np.where(self.lower, np.minimum(diff, 0.0), diff)
        err = np.where(self.relative, diff / np.abs(self.observed), diff)
        return self.sqrt_weight * err / self.tolerance

    def sigma(self) -> np.ndarray:
        """The measurement error scale of each observation, in its own unit."""
        scale = np.where(self.relative, np.abs(self.observed), 1.0)
        return self.tolerance * scale / self.sqrt_weight

    def loglik(self, out: dict[str, np.ndarray]) -> np.ndarray:
        r = self.residuals(self.model_values(out))
        ll = -0.5 * np.sum(r**2, axis=1)
        return np.where(np.isfinite(ll), ll, -np.inf)


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
        *,
        uncertain: bool = True,
        factors_path: Path | str | None = None,
    ) -> Prior:
        from hatinh_sd.factors import DEFAULT_FACTORS_PATH, load_factors

        out = [
            PriorParameter(n, model.py_name(n), lo, hi, "uniform", model.defaults[n], "calibrated")
            for n, (lo, hi) in setup.parameters.items()
        ]
        if uncertain:
            for f in load_factors(factors_path or DEFAULT_FACTORS_PATH, model):
                if f.group != "uncertainty" or f.variable in setup.parameters:
                    continue
                out.append(
                    PriorParameter(
                        f.variable, f.py_name, f.low, f.high, f.distribution, f.default, "uncertain"
                    )
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


def _worker_init(mdl_path: str, setup_path: str, observed_path: str | None, fit_until) -> None:
    import warnings

    from hatinh_sd.calibration import load_setup
    from hatinh_sd.data import load_observed
    from hatinh_sd.ensemble import ArrayModel
    from hatinh_sd.model import load_model

    warnings.simplefilter("ignore")
    model = load_model(mdl_path)
    setup = load_setup(model, setup_path)
    observed = load_observed(observed_path) if observed_path else load_observed()
    _WORKER["model"] = model
    _WORKER["engine"] = ArrayModel(model)
    _WORKER["lik"] = Likelihood(model, setup, observed, fit_until)


def _evaluate(
    py_names: list[str], values: np.ndarray, extra: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    model, engine, lik = _WORKER["model"], _WORKER["engine"], _WORKER["lik"]
    outputs = sorted(set(lik.outputs) | set(extra))
    arrays = {py: values[:, j] for j, py in enumerate(py_names)}
    with np.errstate(all="ignore"):
        _t, out = engine.run(arrays, {}, outputs, model.final_time, saveper=model.time_step)
        series = {o: out[i] for i, o in enumerate(outputs)}
        ll = lik.loglik(series)
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
                str(setup.path),
                str(observed_path) if observed_path else None,
                fit_until,
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
        if beta >= 1.0:
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


# ------------------------------------------------------------------ storage
def write_posterior(
    result: SMCResult,
    model: Model,
    path: Path | str = DEFAULT_POSTERIOR_PATH,
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
            "title": "Posterior draws of the Hà Tĩnh model's fitted parameters and uncertainties",
            "model_sha256": model.hash,
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
    write_netcdf(ds, Path(path))
    return Path(path)


def load_posterior(path: Path | str = DEFAULT_POSTERIOR_PATH) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise HatinhInputError(
            "posterior draws not found (run: hatinh-sd calibrate --posterior)", path=path
        )
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def posterior_draws(
    model: Model, path: Path | str = DEFAULT_POSTERIOR_PATH, *, check_hash: bool = True
) -> pd.DataFrame:
    """The committed posterior draws as a table (draw x parameter, model names).

    Raises
    ------
    HatinhInputError
        If the file is missing or belongs to another model file (``check_hash``).
    """
    ds = load_posterior(path)
    if check_hash and ds.attrs.get("model_sha256") != model.hash:
        raise HatinhInputError(
            "posterior draws belong to another version of model/hatinh.mdl "
            f"({str(ds.attrs.get('model_sha256'))[:12]} vs {model.hash[:12]}); "
            "run: hatinh-sd calibrate --posterior",
            path=path,
        )
    return pd.DataFrame(ds["value"].values, columns=[str(p) for p in ds["parameter"].values])
