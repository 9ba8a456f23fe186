"""The report's "What drives the targets" section reads the results of effects, loops and
robust computed with the current model, and names (without showing) older ones."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from hatinh_sd.model import load_model  # noqa: E402
from hatinh_sd.report import _drivers  # noqa: E402
from hatinh_sd.results import fingerprint  # noqa: E402
from vietnamese import english_left, visible_text  # noqa: E402

#: The calibration's hash, as results of the current calibration record it.
CAL = {"calibration_sha256": fingerprint(load_model())["calibration_sha256"]}


def _outputs(tmp_path, model_hash: str, robust_hash: str):
    eff = tmp_path / "effects" / "baseline"
    eff.mkdir(parents=True)
    xr.Dataset(attrs={"model_sha256": model_hash, **CAL}).to_netcdf(eff / "effects.nc")
    pd.DataFrame(
        {
            "target": ["T07", "T07"],
            "year": [2030, 2030],
            "rank": [1, 2],
            "lever": ["mechanisation rate", "labour export"],
            "draws": [200, 200],
            "median_effect": [-0.2978, -0.265],
            "p05_effect": [-0.4614, -0.4823],
            "p95_effect": [-0.1992, -0.0063],
            "share_helps": [1.0, 0.95],
        }
    ).to_csv(eff / "effects.csv", index=False)
    loops = tmp_path / "loops"
    loops.mkdir()
    (loops / "about.json").write_text(json.dumps({"model_sha256": model_hash, **CAL}))
    pd.DataFrame(
        {
            "focus": ["T07", "T07"],
            "rank": [1, 2],
            "loop": ["b18", "b4"],
            "named": ["", "B4"],
            "polarity": ["B", "B"],
            "mean_abs_score": [0.038, 0.031],
        }
    ).to_csv(loops / "top.csv", index=False)
    fig = plt.figure()
    fig.savefig(loops / "loops.png")
    plt.close(fig)
    disc = tmp_path / "discover" / "baseline_T12"
    disc.mkdir(parents=True)
    xr.Dataset(attrs={"model_sha256": model_hash, "target": "T12", **CAL}).to_netcdf(
        disc / "runs.nc"
    )
    pd.DataFrame(
        {
            "box": [1, 1],
            "coverage": [0.55814, 0.55814],
            "density": [0.837209, 0.837209],
            "mass": [0.286667, 0.286667],
            "runs": [86, 86],
            "runs_meeting": [72, 72],
            "dense_enough": [True, True],
            "dimension": ["nominal growth 20th province", "inflation rate"],
            "low": [0.0502864, 0.0312467],
            "high": [0.0831496, 0.058671],
            "restricted_low": [False, True],
            "restricted_high": [True, False],
            "unit": ["1/Year", "1/Year"],
        }
    ).to_csv(disc / "boxes.csv", index=False)
    rob = tmp_path / "robust" / "baseline_T05_T12"
    rob.mkdir(parents=True)
    (rob / "about.json").write_text(json.dumps({"model_sha256": robust_hash, **CAL}))
    pd.DataFrame(
        {"point": ["baseline_robust_1"], "p_T05": [0.7], "p_T12": [0.15], "cost": [59.31]}
    ).to_csv(rob / "front.csv", index=False)


def test_drivers_show_current_results(tmp_path, model):
    _outputs(tmp_path, model.hash, model.hash)
    html = _drivers(model, ["baseline"], tmp_path, "en")
    assert "Lever effects under uncertainty" in html and "200 draws" in html
    assert "-0.2978 [-0.4614; -0.1992], 100.0 %" in html
    assert "Feedback loops that dominate" in html and "B4 Farm pool feeds hiring" in html
    assert "b18 (B) (0.038)" in html and "data:image/png;base64," in html
    assert "Lever mixes that hold up under uncertainty: T05, T12" in html
    assert "baseline_robust_1" in html and "70.0 %" in html and "59.3" in html
    assert "Box 1: T12 is met in 84 % of the runs where" in html
    assert "inflation rate is above 0.0312" in html and "coverage 56 %" in html
    vi = _drivers(model, ["baseline"], tmp_path, "vi")
    assert "Các vòng phản hồi chi phối" in vi and english_left(visible_text(vi)) == []


def test_drivers_name_results_of_another_model_without_showing_them(tmp_path, model):
    _outputs(tmp_path, model.hash, "0" * 64)
    html = _drivers(model, ["baseline"], tmp_path, "en")
    assert "Lever mixes that hold up" not in html
    assert "computed with another version of the model are not shown" in html
    assert str(tmp_path / "robust" / "baseline_T05_T12") in html
    assert "No results of hatinh-sd effects" in _drivers(model, ["baseline"], tmp_path / "x", "en")
