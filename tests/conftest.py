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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright drives Debian's chromium (``apt-get install chromium``), never a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
