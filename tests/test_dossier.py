"""The validation dossier (``hatinh-sd validate``): the analysis gathers, dossier.py writes."""

from __future__ import annotations

import pytest

from hatinh_sd.cli import main


@pytest.mark.slow
def test_validate_writes_one_page_with_every_section_and_chart(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["validate", "--no-tests", "--out", str(out)]) == 0
    page = (out / "validation" / "validation_en.html").read_text(encoding="utf-8")
    for section in (
        "Sterman's tests",
        "Loop knock-outs (behaviour anomaly)",
        "Surprise behaviour",
        "Observations not used, and why",
        "Fitted against observed, per series",
    ):
        assert f"<h2>{section}</h2>" in page, section
    # one fitted-vs-observed chart per calibration series, embedded as PNG
    from hatinh_sd.calibration import load_setup
    from hatinh_sd.model import load_model

    series = load_setup(load_model()).series
    charts = page.count("src='data:image/png;base64,iVBOR")
    assert 0 < charts <= len(series)
    assert "Validation dossier written to" in capsys.readouterr().out
