"""pysimlin runs of the calibrated model (the explorer's engine) against PySD's."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.fastengine import CHECK_RTOL, SimlinRunner, check_sets

OUTPUTS = ["grdp", "employment share agriculture", "urbanisation rate", "public investment"]


@pytest.fixture(scope="module")
def runner(model):
    return SimlinRunner(model)


def _worst(a, b, names):
    return max(
        float(np.max(np.abs(a[v].values - b[v].values) / np.maximum(np.abs(b[v].values), 1e-9)))
        for v in names
    )


def test_runs_equal_pysd_and_no_setting_carries_over(model, runner):
    names = [model.py_name(o) for o in OUTPUTS]
    settings = {"labour export": 20.0, "formosa phase 2": 1.0, "investment policy start year": 2028}
    ours = runner.run_dataset(settings, outputs=OUTPUTS, scenario="test")
    ref = model.run(settings, outputs=OUTPUTS, scenario="test")
    assert _worst(ours, ref, names) < CHECK_RTOL
    assert list(ours["time"].values) == list(ref["time"].values)
    assert ours.attrs["engine"].startswith("pysimlin ")
    assert ours.attrs["parameter_overrides"] == ref.attrs["parameter_overrides"]
    assert ours["grdp"].attrs["units"] == ref["grdp"].attrs["units"]
    # the next run, the baseline, is the baseline: nothing of the run before is left set
    base = runner.run_dataset({}, outputs=OUTPUTS)
    assert _worst(base, model.run(outputs=OUTPUTS), names) < CHECK_RTOL
    assert _worst(base, ours, names) > 1e-3  # and the settings did change the run


def test_check_covers_every_lever_at_both_ends(model, runner):
    sets = check_sets(model)
    assert sets[0] == {} and set(sets[1]) == set(sets[2]) == set(model.levers())
    assert runner.check_runs(model.run, OUTPUTS) <= CHECK_RTOL


def test_only_levers_in_their_range(model, runner):
    with pytest.raises(HatinhInputError, match="outside"):
        runner.run_dataset({"labour export": 1e6}, outputs=OUTPUTS)
    with pytest.raises(HatinhInputError, match="only levers can be set here, not inflation_rate"):
        runner.run_dataset({"inflation rate": 0.04}, outputs=OUTPUTS, source="test")
    with pytest.raises(HatinhInputError, match="not a parameter"):
        runner.run_dataset({"no such lever": 1.0}, outputs=OUTPUTS)


def test_explorer_uses_pysimlin_only_when_it_agrees_with_pysd(model, tmp_path, monkeypatch, caplog):
    from hatinh_sd.app.explorer import Explorer

    explorer = Explorer(model, outputs=tmp_path, posterior=False, engine="simlin")
    assert explorer.engine == "simlin" and explorer.engine_check <= CHECK_RTOL
    raw = {**explorer.default_values(), "labour export": 3.0}
    page = explorer.cache.get(explorer.params(raw), explorer.run_outputs)
    assert page.attrs["engine"].startswith("pysimlin ")
    ref = model.run(explorer.params(raw), outputs=explorer.run_outputs)
    assert _worst(page, ref, [model.py_name(v) for v in explorer.run_outputs]) < CHECK_RTOL
    # downloads (every variable) are PySD's runs
    assert "engine" not in explorer.cache.get(explorer.params(raw)).attrs

    # an engine that disagrees is not used
    monkeypatch.setattr(SimlinRunner, "check_runs", lambda self, reference, outputs: 1e-3)
    with caplog.at_level(logging.WARNING):
        fallback = Explorer(model, outputs=tmp_path, posterior=False, engine="simlin")
    assert (fallback.engine, fallback.engine_check) == ("pysd", 1e-3)
    assert "differs from PySD by 0.001" in caplog.text
    assert "engine" not in fallback.cache.get(fallback.params(raw), fallback.run_outputs).attrs
    assert Explorer(model, outputs=tmp_path, posterior=False, engine="pysd").engine == "pysd"
    with pytest.raises(HatinhInputError, match="allowed: compiled, simlin, pysd"):
        Explorer(model, outputs=tmp_path, posterior=False, engine="vensim")
