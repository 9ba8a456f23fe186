"""Reproducibility: the installed versions are requirements.lock's, results are
bit-for-bit those pinned, and the translation cache cannot be silently altered."""

from __future__ import annotations

import json
import re
import shutil
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from regression import REFERENCE, pinned_values
from reproduce import REFERENCE as MORRIS_REFERENCE
from reproduce import morris_small_indices

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*(.+))?$", line)
        if m and (m.group(3) is None or Marker(m.group(3)).evaluate()):
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_installed_versions_are_the_locked_ones():
    pins = _pins()
    assert len(pins) > 50 and "pysd" in pins and "numpy" in pins
    wrong = {}
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from requirements.lock: {wrong}"


def test_lock_covers_every_dependency():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {canonicalize_name(re.split(r"[<>=!\[ ;]", d, maxsplit=1)[0]) for d in deps}
    assert names <= set(_pins())


def test_pinned_baseline_reproduces_bit_for_bit(baseline):
    reference = json.loads(REFERENCE.read_text())["values"]
    assert pinned_values(baseline) == reference


def test_small_morris_reproduces_bit_for_bit():
    reference = pd.read_csv(MORRIS_REFERENCE)
    current = morris_small_indices()
    pd.testing.assert_frame_equal(current, reference, check_exact=True, check_dtype=False)


def test_results_record_the_scientific_libraries(baseline):
    versions = json.loads(baseline.attrs["library_versions"])
    for name in ("python", "pysd", "numpy", "scipy", "pandas", "xarray", "SALib", "netCDF4"):
        assert versions[name] not in ("", "not installed"), name
    assert versions["numpy"] == version("numpy")


@pytest.mark.slow
def test_translation_cache_is_keyed_by_pysd_and_checked(tmp_path, monkeypatch):
    import pysd

    from hatinh_sd.project import default_project
    from hatinh_sd.translation import translate

    monkeypatch.setenv("HATINH_SD_CACHE", str(tmp_path))
    py = translate(default_project().model)
    assert py.parent.name.endswith(f"-pysd{pysd.__version__}")
    good = py.read_bytes()
    py.write_bytes(good + b"\nimport os  # tampered\n")
    with pytest.warns(UserWarning, match="does not match its recorded SHA-256"):
        again = translate(default_project().model)
    assert again == py and py.read_bytes() == good
    shutil.rmtree(tmp_path / "translated")
