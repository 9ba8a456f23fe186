"""Shared fixtures: the model is translated and loaded once per test session."""

from __future__ import annotations

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS
from hatinh_sd.model import load_model


def pytest_collection_modifyitems(items):
    """Tests that drive a browser (Playwright's ``page``) are marked ``browser``.

    They need Debian's chromium; ``pytest -m "not browser"`` runs the others.
    """
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def model():
    return load_model()


@pytest.fixture(scope="session")
def baseline(model):
    return model.run(scenario="baseline")


@pytest.fixture
def overspend(tmp_path):
    """A scenario whose plan asks more of the budget than the model's budget pays (public
    investment at the top of its range): the budget check's and exit status 3's case."""
    path = tmp_path / "overspend.yaml"
    path.write_text(
        "title: {vi: Chi vượt ngân sách, en: Overspending}\n"
        "description: {vi: Đầu tư công ở mức cao nhất, en: Public investment at its highest}\n"
        "cites: test\nlevers:\n  public investment rate: 0.25\nexpected: []\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright drives Debian's chromium (``apt-get install chromium``), never a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }
