"""Regression: the baseline's 2030 and 2050 values are pinned (1e-6 relative).

An intended model change updates the reference with ``python tests/regression.py``
and a CHANGELOG line; an unintended one fails here.
"""

from __future__ import annotations

import json

import pytest

from regression import REFERENCE, pinned_values


def test_baseline_matches_reference(baseline):
    reference = json.loads(REFERENCE.read_text())["values"]
    current = pinned_values(baseline)
    assert set(current) == set(reference)
    for name, values in reference.items():
        for year, expected in values.items():
            assert current[name][year] == pytest.approx(expected, rel=1e-6), f"{name} {year}"
