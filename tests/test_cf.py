"""netCDF results that other tools read: CF conventions (hatinh_sd.results.write_netcdf).

Every unit of the .mdl maps to a UDUNITS string (hatinh_sd.units.udunits); a results
file passes the IOOS compliance checker's CF test with no error; read_results gives
back the run as it was (time in float calendar years, the model's units).
"""

from __future__ import annotations

import json

import cf_units  # comes with compliance-checker
import netCDF4
import numpy as np
import pytest
import xarray as xr

from hatinh_sd import vocabulary
from hatinh_sd.results import (
    CF_CONVENTIONS,
    CF_TIME_ATTRS,
    read_results,
    write_netcdf,
)
from hatinh_sd.units import UnitError, udunits


def _model_units(model) -> list[str]:
    return sorted(model.doc["Units"].dropna().astype(str).unique())


# ----------------------------------------------------------------- units


def test_every_unit_of_the_model_maps_to_udunits(model):
    units = _model_units(model)
    assert len(units) > 20
    for u in units:
        text, extra = udunits(u)
        parsed = cf_units.Unit(text)  # raises on a string UDUNITS does not read
        assert not parsed.is_unknown(), (u, text)
        assert set(extra) <= {"currency", "price_basis", "units_note"}, (u, extra)
        assert all(isinstance(v, str) and v for v in extra.values()), (u, extra)


def _factor(text: str, to: str) -> float:
    return float(cf_units.Unit(text).convert(1.0, cf_units.Unit(to)))


@pytest.mark.parametrize(
    ("vensim", "to", "factor", "extra"),
    [
        ("Dmnl", "1", 1.0, {}),
        ("kperson/Year", "year-1", 1e3, {"units_note": "number of persons"}),
        (
            "bnVND/(kperson*Year)",
            "year-1",
            1e6,
            {"currency": "VND", "price_basis": "current prices", "units_note": "per person"},
        ),
        ("bnVND2010/Year", "year-1", 1e9, {"price_basis": "constant 2010 prices"}),
        ("MUSD", "1", 1e6, {"currency": "USD"}),
        ("bnVND/MUSD", "1", 1e3, {"currency": "VND per USD"}),
        ("bnVND/bnVND2010", "1", 1.0, {"price_basis": "current prices over constant 2010 prices"}),
        ("Mt/Year", "kg year-1", 1e9, {}),
        ("MtCO2/Year", "kg year-1", 1e9, {"units_note": "mass of CO2"}),
        ("MtCO2/GWh", "kg W-1 h-1", 1.0, {"units_note": "mass of CO2"}),
        ("ha/Year", "m2 year-1", 1e4, {}),
        ("MW", "W", 1e6, {}),
        ("GWh/Year", "W h year-1", 1e9, {}),
        ("MW*h/GWh", "1", 1e-3, {}),
        ("h/Year", "1", 1 / (365.242198781 * 24), {}),
        ("percent", "1", 1e-2, {}),
        ("1/percent", "1", 1e2, {}),
        ("bnVND/(Year*percent)", "year-1", 1e11, {"currency": "VND"}),
        ("per10000", "1", 1e-4, {}),
        ("person/kperson", "1", 1e-3, {}),
    ],
)
def test_known_units(vensim, to, factor, extra):
    text, attrs = udunits(vensim)
    assert _factor(text, to) == pytest.approx(factor, rel=1e-12)
    for key, value in extra.items():
        assert attrs.get(key) == value, (vensim, attrs)
    if not extra:
        assert "currency" not in attrs and "price_basis" not in attrs


def test_udunits_strings_read_well():
    assert udunits("bnVND/(kperson*Year)")[0] == "1e+06 year-1"
    assert udunits("kperson/Year")[0] == "1000 year-1"
    assert udunits("Year")[0] == "year"
    assert udunits("ha")[0] == "hectare"
    assert udunits("Dmnl")[0] == "1"


@pytest.mark.parametrize("bad", ["furlong/Year", "10/Year", "bnVND/(Year"])
def test_unknown_units_are_refused(bad):
    with pytest.raises(UnitError):
        udunits(bad)


# ----------------------------------------------------------------- a results file


@pytest.fixture(scope="module")
def small_run(baseline):
    """The baseline run restricted to one variable per unit (about 30, all the units it has)."""
    first: dict[str, str] = {}
    for name in baseline.data_vars:
        first.setdefault(str(baseline[name].attrs["units"]), name)
    assert len(first) >= 20
    return baseline[list(first.values())]


@pytest.fixture(scope="module")
def small_file(small_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("cf") / "results.nc"
    write_netcdf(small_run, path)
    return path


def _failures(entries: list[dict]) -> list[str]:
    return [
        f"{e['name']}: {msg}" for e in entries if e["value"][0] < e["value"][1] for msg in e["msgs"]
    ]


def test_compliance_checker_finds_no_error(small_file, tmp_path):
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite.load_all_available_checkers()
    report = tmp_path / "cf.json"
    ComplianceChecker.run_checker(
        str(small_file), ["cf"], 0, "normal", output_filename=str(report), output_format="json"
    )
    result = json.loads(report.read_text(encoding="utf-8"))["cf"]
    errors = _failures(result["high_priorities"])
    assert errors == [], errors
    assert result["high_count"] == 0
    warnings = _failures(result["medium_priorities"])
    assert warnings == [], warnings


def test_file_metadata(small_run, small_file):
    with netCDF4.Dataset(small_file) as nc:
        assert nc.getncattr("Conventions") == CF_CONVENTIONS
        for key, value in small_run.attrs.items():  # the run's own attributes are kept
            assert nc.getncattr(key) == value, key
        time = nc.variables["time"]
        assert "_FillValue" not in time.ncattrs()
        assert time.units == CF_TIME_ATTRS["units"] and time.calendar == "noleap"
        for name in small_run.data_vars:
            var = nc.variables[name]
            vensim = small_run[name].attrs["units"]
            assert var.vensim_units == vensim
            assert var.units == udunits(vensim)[0]
            assert var.long_name == small_run[name].attrs["long_name"]
            assert var.long_name_vi == vocabulary.label(var.long_name, "vi")
            # the numbers on file are the run's
            np.testing.assert_array_equal(np.asarray(var[:], dtype=float), small_run[name].values)
        translated = [
            n
            for n in small_run.data_vars
            if small_run[n].attrs["long_name_vi"] != small_run[n].attrs["long_name"]
        ]
        assert translated  # Vietnamese labels, not the English again
        gdp = nc.variables["grdp_per_capita_current"]
        assert (gdp.units, gdp.currency) == ("1e+06 year-1", "VND")


def test_cf_readers_see_mid_year_dates(small_file):
    import cftime

    with xr.open_dataset(small_file) as ds:  # a CF reader, decoding time
        first, last = ds["time"].values[[0, -1]]
    assert first == cftime.DatetimeNoLeap(2010, 7, 2, 12)
    assert last == cftime.DatetimeNoLeap(2050, 7, 2, 12)


def test_read_results_round_trips(small_run, small_file):
    back = read_results(small_file)
    xr.testing.assert_identical(back, small_run)  # values, time and attributes
    assert back["time"].dtype == np.float64
    np.testing.assert_array_equal(back["time"].values, np.arange(2010.0, 2051.0))


def test_fractional_times_round_trip_exactly(model, tmp_path):
    times = np.arange(2010.0, 2050.01, 0.125)
    run = model.run(scenario="baseline", times=times, outputs=["grdp", "total_population"])
    write_netcdf(run, tmp_path / "r.nc")
    back = read_results(tmp_path / "r.nc")
    xr.testing.assert_identical(back, run)
    assert np.array_equal(back["time"].values, run["time"].values)


def test_other_datasets_are_written_as_they_are(tmp_path):
    """Ensemble chunks and bands (time without units) keep float time and their attributes."""
    ds = xr.Dataset(
        {"x": (("sample", "time"), np.ones((2, 3)), {"units": "bnVND/Year"})},
        coords={"sample": [0, 1], "time": [2010.0, 2011.0, 2012.0]},
    )
    write_netcdf(ds, tmp_path / "chunk.nc")
    with xr.open_dataset(tmp_path / "chunk.nc") as back:
        xr.testing.assert_identical(back.load(), ds)
        assert "Conventions" not in back.attrs
