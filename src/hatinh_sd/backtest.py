"""Forecast backtests with rolling origins (``hatinh-sd validate --backtest``).

For each origin year (2015, 2017, 2019) the fitted parameters are refitted to the
observations up to that year only (point estimates, weighted least squares as in
:func:`hatinh_sd.calibration.calibrate`), the model is run with its exogenous
drivers and dated shocks at their actual values, and its values for the years after
the origin up to the last observed year are compared with the observations and
with three naive forecasts made from the same history:

* random walk with drift: the last observed value plus the average change over the
  window (in logarithms for levels, so a constant growth rate);
* log-linear trend: an ordinary least-squares line through the logarithms;
* linear trend: an ordinary least-squares line through the values.

The window is the annual observations from 2012 (the first year most series
have) to the origin. Errors are relative (per cent) for levels and in percentage
points for shares. Theil's U2 is the root mean square error of a forecast divided
by that of the no-change forecast (the origin's value) over the same years: below
1 the forecast beats "nothing changes". The 90 % predictive interval of the model
is a Laplace approximation around each refit (the parameters' covariance from the
Jacobian of the weighted residuals, Gaussian), plus the measurement error of each
observation; its coverage counts the later observations inside it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from hatinh_sd.calibration import CalibrationSetup, Likelihood, fit_point, observations
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.model import Model

__all__ = [
    "BACKTEST_SERIES",
    "ORIGINS",
    "Backtest",
    "naive_forecasts",
    "run_backtest",
]

ORIGINS = (2015, 2017, 2019)

#: Series forecast from each origin: (indicator, level). Levels are compared in
#: relative error and extrapolated in logarithms; shares in points.
BACKTEST_SERIES = {
    "grdp_const2010": True,
    "grdp_current": True,
    "grdp_per_capita_current": True,
    "population_total": True,
    "share_agriculture_grdp": False,
    "share_industry_construction_grdp": False,
    "share_services_grdp": False,
}

METHODS = ("model", "random walk with drift", "log-linear trend", "linear trend")


def naive_forecasts(
    years: np.ndarray, values: np.ndarray, ahead: np.ndarray, level: bool
) -> dict[str, np.ndarray]:
    """The three naive forecasts of the years ``ahead`` from the history (``years``, ``values``)."""
    log = level and bool(np.all(values > 0))
    y = np.log(values) if log else values.astype(float)
    back = np.exp if log else (lambda v: v)
    order = np.argsort(years)
    yrs, y = years[order], y[order]
    drift = (y[-1] - y[0]) / (yrs[-1] - yrs[0]) if len(yrs) > 1 else 0.0
    rw = y[-1] + drift * (ahead - yrs[-1])
    lin_slope, lin_int = np.polyfit(yrs, values[order], 1)
    if np.all(values > 0):
        lg_slope, lg_int = np.polyfit(yrs, np.log(values[order]), 1)
        loglin = np.exp(lg_int + lg_slope * ahead)
    else:
        loglin = np.full(len(ahead), np.nan)
    return {
        "random walk with drift": back(rw),
        "log-linear trend": loglin,
        "linear trend": lin_int + lin_slope * ahead,
    }


@dataclasses.dataclass
class Backtest:
    """Results of the rolling-origin backtests."""

    forecasts: pd.DataFrame  # origin, indicator, year, horizon, observed, method, forecast, error
    summary: pd.DataFrame  # origin, method, horizon, error (MAE over series)
    theil: pd.DataFrame  # origin, indicator, method, u2
    coverage: pd.DataFrame  # origin, points, inside, coverage
    parameters: pd.DataFrame  # origin, parameter, value
    intervals: pd.DataFrame  # origin, indicator, year, p05, p95


def _annual(obs: pd.DataFrame) -> pd.DataFrame:
    a = obs[obs["used"] & (obs["period"] == "year") & obs["indicator"].isin(BACKTEST_SERIES)]
    return a.groupby(["indicator", "year"], as_index=False)[["observed"]].mean()


def run_backtest(
    model: Model,
    setup: CalibrationSetup,
    observed: pd.DataFrame,
    *,
    origins: Sequence[int] = ORIGINS,
    first_year: int = 2012,
    draws: int = 300,
    seed: int = 20261201,
    progress: Callable[[str], None] | None = None,
) -> Backtest:
    """Refit at each origin, forecast to the last observation, compare with naive forecasts."""
    from hatinh_sd.ensemble import ArrayModel

    model_ = model
    engine = ArrayModel(model_)
    obs_all = observations(observed, setup)
    annual = _annual(obs_all)
    last = int(annual["year"].max())
    full = Likelihood(model_, setup, observed)  # every used observation, to read forecasts
    key = full.obs[["indicator", "year", "period"]].astype(str).agg("|".join, axis=1)
    rng = np.random.default_rng(seed)
    # each refit starts from the .mdl's own values, never from values fitted to later years
    from hatinh_sd.model import load_model

    mdl_start = load_model(model_.mdl_path, calibration_path=None).defaults
    start = {n: mdl_start[n] for n in setup.parameters}
    rows, theil, cover, params, bands = [], [], [], [], []
    for origin in origins:
        if origin >= last:
            raise HatinhInputError(
                f"origin {origin} leaves nothing to forecast (last year {last})", key="origins"
            )
        fit = fit_point(model_, setup, observed, origin, start=start, engine=engine)
        values, J = fit.values, fit.jacobian
        if progress:
            progress(f"origin {origin}: refitted {len(values)} parameters")
        names = list(values)
        params += [{"origin": origin, "parameter": n, "value": v} for n, v in values.items()]
        # Laplace approximation in the scaled space, clipped into the search ranges
        low = np.array([setup.parameters[n][0] for n in names])
        high = np.array([setup.parameters[n][1] for n in names])
        x = (np.array([values[n] for n in names]) - low) / (high - low)
        cov = np.linalg.pinv(J.T @ J)
        cov = (cov + cov.T) / 2 + 1e-12 * np.eye(len(names))
        X = np.clip(rng.multivariate_normal(x, cov, size=draws, method="eigh"), 0, 1)
        X = np.vstack([x, X])
        arrays = {
            model_.py_name(n): low[j] + X[:, j] * (high[j] - low[j]) for j, n in enumerate(names)
        }
        mv, _ = full.run(engine, arrays)
        noise = rng.standard_normal(mv[1:].shape) * full.sigma()
        pred = mv[1:] + noise
        for indicator, level in BACKTEST_SERIES.items():
            hist = annual[
                (annual["indicator"] == indicator)
                & (annual["year"] >= first_year)
                & (annual["year"] <= origin)
            ]
            later = annual[(annual["indicator"] == indicator) & (annual["year"] > origin)]
            if len(hist) < 2 or later.empty:
                continue
            ahead = later["year"].to_numpy()
            naive = naive_forecasts(
                hist["year"].to_numpy(), hist["observed"].to_numpy(), ahead, level
            )
            anchor = float(hist.sort_values("year")["observed"].iloc[-1])
            cols = [int(np.flatnonzero(key == f"{indicator}|{y}|year")[0]) for y in ahead]
            model_f = mv[0, cols]
            lo, hi = np.percentile(pred[:, cols], [5, 95], axis=0)
            by_method = {"model": model_f, **naive}
            actual = later["observed"].to_numpy()
            for method, f in by_method.items():
                err = (f / actual - 1) * 100 if level else f - actual
                for y, a, fv, e in zip(ahead, actual, f, err, strict=True):
                    rows.append(
                        {
                            "origin": origin,
                            "indicator": indicator,
                            "unit": "%" if level else "points",
                            "year": int(y),
                            "horizon": int(y - origin),
                            "observed": float(a),
                            "method": method,
                            "forecast": float(fv),
                            "error": float(e),
                        }
                    )
                scale = anchor if level else 1.0
                nochange = np.sqrt(np.mean(((anchor - actual) / scale) ** 2))
                rmse = np.sqrt(np.mean(((f - actual) / scale) ** 2))
                theil.append(
                    {
                        "origin": origin,
                        "indicator": indicator,
                        "method": method,
                        "u2": float(rmse / nochange) if nochange > 0 else math.nan,
                    }
                )
            inside = (actual >= lo) & (actual <= hi)
            cover.append(
                {
                    "origin": origin,
                    "indicator": indicator,
                    "points": len(actual),
                    "inside": int(inside.sum()),
                }
            )
            bands += [
                {
                    "origin": origin,
                    "indicator": indicator,
                    "year": int(y),
                    "p05": float(a),
                    "p95": float(b),
                }
                for y, a, b in zip(ahead, lo, hi, strict=True)
            ]
    forecasts = pd.DataFrame(rows)
    forecasts["abs_error"] = forecasts["error"].abs()
    summary = forecasts.groupby(["origin", "method", "horizon"], as_index=False)[
        ["abs_error"]
    ].mean()
    coverage = pd.DataFrame(cover)
    by_origin = coverage.groupby("origin", as_index=False)[["points", "inside"]].sum()
    by_origin["coverage"] = by_origin["inside"] / by_origin["points"]
    return Backtest(
        forecasts=forecasts,
        summary=summary,
        theil=pd.DataFrame(theil),
        coverage=by_origin,
        parameters=pd.DataFrame(params),
        intervals=pd.DataFrame(bands),
    )


def mae_h1_3(bt: Backtest) -> pd.DataFrame:
    """Mean absolute error over horizons 1-3 years, by origin, series and method (wide)."""
    f = bt.forecasts[bt.forecasts["horizon"] <= 3]
    t = f.groupby(["origin", "indicator", "unit", "method"], as_index=False)["abs_error"].mean()
    wide = t.pivot_table(
        index=["origin", "indicator", "unit"], columns="method", values="abs_error"
    ).reset_index()
    wide.columns.name = None
    return wide[["origin", "indicator", "unit", *[m for m in METHODS if m in wide.columns]]]
