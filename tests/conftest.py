"""Shared fixtures: the model is translated and loaded once per test session."""

from __future__ import annotations

import pytest

from hatinh_sd.model import load_model


@pytest.fixture(scope="session")
def model():
    return load_model()


@pytest.fixture(scope="session")
def baseline(model):
    return model.run(scenario="baseline")
