"""Lever effects under uncertainty (``hatinh-sd effects``, issue 12 item 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hatinh_sd.cli import main
from hatinh_sd.data import load_targets
from hatinh_sd.effects import (
    effects_table,
    helps,
    hurts,
    prepare,
    run_effects,
    target_rows,
)
from hatinh_sd.targets import indicator_variables
from vietnamese import english_left

#: A lever that raises GRDP growth, one that acts on urbanisation, and one that cannot act
#: in the baseline: the year of Formosa phase 2 only matters when phase 2 is built
#: (``formosa phase 2`` multiplies every use of it), and the baseline does not build it.
LEVERS = ["investment climate", "urban reclassification rate", "formosa phase 2 year"]


@pytest.fixture(scope="module")
def small(model):
    setup = prepare(model, scenario="baseline", n=8, seed=7, levers=LEVERS)
    eff, bad = run_effects(
        setup, backend="inline", chunk_size=48, checks_per_chunk=1, progress=False
    )
    return setup, eff, bad


def _direct(model, setup, lever, value, draw, variable, year):
    """The indicator from a scalar ``Model.run`` of one draw with ``lever`` at ``value``."""
    params = dict(zip(setup.drawn_names, setup.drawn_values[draw]))
    params.update({model.real_name(k): v for k, v in setup.fixed.items()})
    params.update(setup.scenario_values)
    params[lever] = value
    ds = model.run(params, outputs=[variable])
    return float(ds[variable].sel(time=year))


def test_effects_equal_the_difference_of_two_direct_runs(model, small):
    setup, eff, bad = small
    assert bad.empty
    assert (eff.sizes["lever"], eff.sizes["target"], eff.sizes["draw"]) == (3, 12, 8)
    f = next(f for f in setup.levers if f.variable == "investment climate")
    for tid, draw in (("T01", 3), ("T11", 5)):
        var = str(eff["variable"].sel(target=tid).item())
        low = _direct(model, setup, f.variable, f.low, draw, var, 2030)
        high = _direct(model, setup, f.variable, f.high, draw, var, 2030)
        got = eff.sel(lever=f.variable, target=tid, year=2030, draw=draw)
        assert float(got["value_low"]) == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert float(got["value_high"]) == pytest.approx(high, rel=1e-9, abs=1e-12)
        assert float(got["effect"]) == pytest.approx(high - low, abs=1e-9 * max(1, abs(high)))


def test_a_lever_that_acts_has_an_effect_and_one_that_cannot_has_none(small):
    _, eff, _ = small
    growth = eff["effect"].sel(lever="investment climate", target="T01", year=2030).values
    assert np.all(growth > 0.05)  # a better investment climate raises GRDP growth
    urban = eff["effect"].sel(lever="urban reclassification rate", target="T11", year=2030)
    assert np.all(urban.values > 1)  # reclassification raises the urbanisation rate
    inert = eff["effect"].sel(lever="formosa phase 2 year").values
    assert np.all(inert == 0.0)
    table = effects_table(eff)
    t01 = table[(table["target"] == "T01")].set_index("lever")
    assert t01.loc["investment climate", "rank"] == 1
    assert t01.loc["investment climate", "share_helps"] == 1.0
    assert t01.loc["formosa phase 2 year", "share_helps"] == 0.0
    assert t01.loc["formosa phase 2 year", "share_hurts"] == 0.0
    assert t01.loc["formosa phase 2 year", "median_effect"] == 0.0


def test_helps_follows_the_comparator():
    nan = np.nan
    low = np.array([1.0, 2.0, 3.0, nan, 5.0])
    high = np.array([2.0, 2.0, 1.0, 5.0, nan])
    assert helps(low, high, ">", 0).tolist() == [True, False, False, False, False]
    assert helps(low, high, ">=", 0).tolist() == [True, False, False, False, False]
    assert helps(low, high, "<", 0).tolist() == [False, False, True, False, False]
    assert helps(low, high, "<=", 0).tolist() == [False, False, True, False, False]
    assert hurts(low, high, ">", 0).tolist() == [False, False, True, False, False]
    # "about" 10: closer to 10 helps, whichever the direction; overshooting further hurts
    low = np.array([5.0, 9.0, 13.0, 8.0, 9.5])
    high = np.array([9.0, 12.0, 11.0, 12.0, 10.5])
    assert helps(low, high, "~", 10).tolist() == [True, False, True, False, False]
    assert hurts(low, high, "~", 10).tolist() == [False, True, False, False, False]
    assert helps(low, high, "=", 10).tolist() == helps(low, high, "~", 10).tolist()
    # a change within the engine's precision is no change
    tiny = np.array([1000.0 * (1 + 1e-12)])
    assert not helps(np.array([1000.0]), tiny, ">", 0)[0]
    assert not hurts(np.array([1000.0]), tiny, "<", 0)[0]


def test_shares_in_the_table_follow_the_comparator(small):
    _, eff, _ = small
    table = effects_table(eff)
    for r in table.itertuples():
        e = eff["effect"].sel(lever=r.lever, target=r.target, year=r.year).values
        lo = eff["value_low"].sel(lever=r.lever, target=r.target, year=r.year).values
        hi = eff["value_high"].sel(lever=r.lever, target=r.target, year=r.year).values
        moved = np.abs(e) > 1e-9 * np.maximum(np.abs(lo), np.abs(hi))
        if r.comparator in (">", ">="):
            expected = np.mean((e > 0) & moved)
        elif r.comparator in ("<", "<="):
            expected = np.mean((e < 0) & moved)
        else:
            closer = np.abs(hi - r.target_value) < np.abs(lo - r.target_value)
            expected = np.mean(closer & moved)
        assert r.share_helps == pytest.approx(expected), (r.lever, r.target)
        assert r.share_helps + r.share_hurts <= 1
        assert r.p05_effect <= r.median_effect <= r.p95_effect
        assert r.median_effect == pytest.approx(np.median(e))


def test_targets_are_read_in_2050_when_they_have_a_value_then():
    targets = load_targets()
    ids = [f"T{i:02d}" for i in range(1, 13)]
    rows = target_rows(targets, ids, [2030, 2050])
    assert set(rows.loc[rows["year"] == 2030, "id"]) == set(ids)
    assert set(rows.loc[rows["year"] == 2050, "id"]) == set(ids) - {"T01"}
    assert set(rows["variable"]) <= set(indicator_variables().values())


def test_command_writes_table_netcdf_and_charts_in_vietnamese(tmp_path, capsys):
    import xarray as xr

    out = tmp_path / "out"
    argv = ["--lang", "vi", "effects", "--n", "4", "--levers", ",".join(LEVERS[:2])]
    assert main([*argv, "--out", str(out), "--workers", "0", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    # the last line names the folder written (a path, not text)
    *lines, wrote = printed.strip().splitlines()
    assert wrote.startswith("Đã ghi ") and wrote.endswith(str(out / "effects" / "baseline"))
    assert english_left("\n".join(lines)) == []
    assert "T01" in printed and "T07" in printed
    folder = out / "effects" / "baseline"
    for name in ("effects.csv", "effects.nc", "effects.png", "helps.png", "summary.txt"):
        assert (folder / name).stat().st_size > 0, name
    table = pd.read_csv(folder / "effects.csv")
    assert len(table) == 2 * 12
    assert {"median_effect", "p05_effect", "p95_effect", "share_helps", "share_met_low"} <= set(
        table.columns
    )
    with xr.open_dataset(folder / "effects.nc") as eff:
        assert eff["effect"].dims == ("lever", "target", "year", "draw")
        assert eff["drawn"].shape == (4, eff.sizes["constant"])
        assert eff.attrs["scenario"] == "baseline"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--scenario", "no_such_scenario"], "no_such_scenario"),
        (["--n", "1"], "--n"),
        (["--year", "2040"], "--year"),
        (["--levers", "investment climat"], "investment climate"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["effects", *argv, "--out", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()
