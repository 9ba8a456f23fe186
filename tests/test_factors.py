"""The factor table: coverage of levers and uncertainties, ranges, bad rows."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.factors import DISTRIBUTIONS, load_factors, to_values
from hatinh_sd.project import default_project


@pytest.fixture(scope="module")
def factors(model):
    return load_factors(model=model)


def test_table_covers_every_lever_and_15_uncertainties(model, factors):
    assert len(factors) >= 30
    levers = {f.variable for f in factors if f.group == "lever"}
    assert levers == set(model.levers())
    assert sum(f.group == "uncertainty" for f in factors) >= 15
    for f in factors:
        if f.group == "uncertainty":
            assert model.parameters[f.variable].role in ("uncertain", "calibrated")


def test_ranges_inside_mdl_ranges_and_defaults_from_model(model, factors):
    for f in factors:
        par = model.parameters[f.variable]
        assert par.low <= f.low <= f.high <= par.high, f.name
        assert f.default == model.defaults[f.variable]
        assert f.distribution in DISTRIBUTIONS


def test_ppf_maps_unit_interval_onto_range_monotonically(factors):
    u = np.linspace(0, 1, 101)
    for f in factors:
        v = f.ppf(u)
        assert np.all(np.diff(v) >= -1e-12), f.name
        assert v.min() >= f.low - 1e-12 and v.max() <= f.high + 1e-12
        if f.distribution in ("uniform", "triangular"):
            assert v[0] == pytest.approx(f.low) and v[-1] == pytest.approx(f.high)
    x = to_values(factors, np.full((2, len(factors)), 0.5))
    assert x.shape == (2, len(factors))


def _bad_table(tmp_path, line_no, column, value):
    path = tmp_path / "factors.csv"
    shutil.copy(default_project().factors, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[line_no - 1].split(",")
    cells[header.index(column)] = value
    lines[line_no - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("low", "1e9", "is not below high"),
        ("variable", "investment climat", "did you mean 'investment climate'"),
        ("distribution", "beta", "unknown distribution 'beta'"),
        ("high", "1e12", "leaves the model's range"),
    ],
)
def test_bad_rows_name_file_line_and_column(model, tmp_path, column, value, message):
    # line 3 of the shipped table is a lever row ("PPP infrastructure investment")
    path = _bad_table(tmp_path, 3, column, value)
    with pytest.raises(HatinhInputError) as err:
        load_factors(path, model)
    assert message in str(err.value)
    assert "line 3" in str(err.value)
    assert str(path) in str(err.value)


def test_committed_table_is_generated_from_the_mdl(model):
    """sensitivity/factors.csv is what `hatinh-sd docs` writes: ranges follow the .mdl."""
    from hatinh_sd.factors import factor_rows, factor_table_text

    text = default_project().factors.read_text(encoding="utf-8")
    assert text == factor_table_text(factor_rows(model)), "run: hatinh-sd docs"
