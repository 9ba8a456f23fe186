"""The Vietnamese report as a planning office files it: PDF (A4, summary first on one page),
DOCX, probabilities as ``uncertainty`` prints them, costs as ``compare`` computes them, and no
English left in the report, summary, Excel workbook or CLI scorecard.

One module fixture runs, as a user would: ``uncertainty`` (small ensembles) for two of the
three scenarios, ``compare`` in Vietnamese, and ``report --format pdf docx`` and
``report --summary --format pdf docx`` in Vietnamese. Screenshots of the PDF's first two
pages are written to ``outputs/screenshots/``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from hatinh_sd.cli import main
from hatinh_sd.i18n import number, text
from hatinh_sd.model import repo_root
from hatinh_sd.report import SECTIONS, report_name
from vietnamese import english_left, visible_text

SCENARIOS = ["baseline", "action_programme", "formosa_phase2"]
WITH_BANDS = ["baseline", "formosa_phase2"]
#: A4 in points and the print stylesheet's side margins (12 mm).
A4 = (595.3, 841.9)
SIDE_MARGIN_PT = 12 / 25.4 * 72

pytestmark = pytest.mark.browser  # Chromium prints the PDF


@pytest.fixture(scope="module")
def filed(tmp_path_factory):
    out = tmp_path_factory.mktemp("filed")
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert (
            main(
                [
                    "uncertainty",
                    "--scenario",
                    *WITH_BANDS,
                    "--n",
                    "40",
                    "--workers",
                    "0",
                    "--no-progress",
                    "--out",
                    str(out / "uncertainty"),
                ]
            )
            == 0
        )
    assert main(["--lang", "vi", "compare", *SCENARIOS, "--out", str(out)]) == 0
    args = ["--lang", "vi", "report", "--scenarios", *SCENARIOS, "--out", str(out)]
    assert main([*args, "--format", "pdf", "docx"]) == 0
    assert main([*args, "--summary", "--format", "pdf", "docx"]) == 0
    folder = out / "report"
    stem, summary = report_name(SCENARIOS, "vi"), report_name(SCENARIOS, "vi", summary=True)
    return {
        "out": out,
        "uncertainty_stdout": printed.getvalue(),
        "html": (folder / f"{stem}.html").read_text(encoding="utf-8"),
        "html_path": folder / f"{stem}.html",
        "pdf": folder / f"{stem}.pdf",
        "docx": folder / f"{stem}.docx",
        "summary_html": (folder / f"{summary}.html").read_text(encoding="utf-8"),
        "summary_pdf": folder / f"{summary}.pdf",
        "summary_docx": folder / f"{summary}.docx",
    }


def _pages(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


# ------------------------------------------------------------------ no English in Vietnamese
@pytest.mark.slow
def test_vietnamese_report_and_summary_have_no_english(filed):
    for key in ("html", "summary_html"):
        shown = visible_text(filed[key])
        assert english_left(shown) == [], key
        assert len(shown) > 2000
    # decimals with a comma, thousands with a dot: the scorecard cell of T01 in the baseline
    doc = filed["html"]
    value = float(
        re.search(r"data-scenario='baseline' data-id='T01' data-value='([^']+)'", doc).group(1)
    )
    assert f">{number(value, 'vi')} " in doc and "," in number(value, "vi")
    assert re.search(r">\d{1,3}(\.\d{3})+,\d<", doc)  # e.g. 2.743,1 in the costs table


@pytest.mark.slow
def test_vietnamese_workbook_and_cli_scorecard_have_no_english(filed, capsys):
    import openpyxl

    book = next((filed["out"]).glob("compare_*_vi/comparison.xlsx"))
    wb = openpyxl.load_workbook(book)
    cells = [ws.title for ws in wb.worksheets]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        for row in ws.iter_rows(values_only=True):
            cells += [v for v in row if isinstance(v, str)]
    assert english_left("\n".join(cells)) == []
    capsys.readouterr()
    assert (
        main(
            [
                "--lang",
                "vi",
                "run",
                "--scenario",
                "formosa_phase2",
                "--out",
                str(filed["out"] / "run"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    shown = "\n".join(line for line in printed if not line.startswith("Đã ghi "))  # the path line
    assert english_left(shown) == []
    assert re.search(r"\s\d+,\d\d\s", shown)


# ------------------------------------------------------------------ PDF
@pytest.mark.slow
def test_pdf_is_a4_with_the_summary_alone_on_page_one(filed):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(filed["pdf"]))
    n = len(pdf)
    sizes = {tuple(round(x) for x in pdf[i].get_size()) for i in range(n)}
    pdf.close()
    assert sizes == {tuple(round(x) for x in A4)}
    pages = _pages(filed["pdf"])
    summary_head = text("report.section.summary", "vi")
    scorecard_head = text("report.section.scorecard", "vi")
    assert summary_head in pages[0] and f"1 / {n}" in pages[0]
    assert all(summary_head not in p for p in pages[1:])
    assert scorecard_head not in pages[0] and scorecard_head in pages[1]
    for i in range(n):  # page numbers on every page
        assert f"{i + 1} / {n}" in pages[i]
    summary = _pages(filed["summary_pdf"])
    assert len(summary) == 1 and summary_head in summary[0]
    print(f"PDF: {n} A4 pages; summary PDF: 1 page")


@pytest.mark.slow
def test_no_text_beyond_the_printable_width_of_the_pdf(filed):
    """Every text run lies within the page less its side margins (a wider table would not)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(filed["pdf"]))
    worst = 0.0
    for i in range(len(pdf)):
        page = pdf[i]
        width = page.get_width()
        tp = page.get_textpage()
        for j in range(tp.count_rects()):
            left, _bottom, right, _top = tp.get_rect(j)
            assert left >= SIDE_MARGIN_PT - 2, (i + 1, left)
            assert right <= width - SIDE_MARGIN_PT + 2, (i + 1, right)
            worst = max(worst, right)
    pdf.close()
    print(f"rightmost text at {worst:.1f} pt of {A4[0] - SIDE_MARGIN_PT:.1f} pt")


@pytest.mark.slow
def test_no_table_wider_than_the_printable_area_in_print_media(filed, page):
    """Measured in Chromium with print media at the A4 printable width (186 mm)."""
    page.set_viewport_size({"width": round(186 / 25.4 * 96), "height": 1000})
    page.emulate_media(media="print")
    page.goto(filed["html_path"].as_uri())
    over = page.evaluate(
        """() => {
            const body = document.body.getBoundingClientRect();
            return Array.from(document.querySelectorAll('table')).map((t, i) => ({
                i, cls: t.className,
                over: Math.max(t.getBoundingClientRect().right - body.right,
                               t.scrollWidth - t.clientWidth)}))
              .filter(t => t.over > 1);
        }"""
    )
    assert over == []
    n = page.evaluate("() => document.querySelectorAll('table').length")
    assert n >= 8


@pytest.mark.slow
def test_screenshots_of_the_first_two_pages(filed):
    import pypdfium2 as pdfium

    folder = repo_root() / "outputs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(filed["pdf"]))
    for i in range(2):
        image = pdf[i].render(scale=1.5).to_pil()
        path = folder / f"report_vi_page{i + 1}.png"
        image.save(path)
        assert path.stat().st_size > 50_000
    pdf.close()


# ------------------------------------------------------------------ DOCX
@pytest.mark.slow
def test_docx_has_the_same_sections(filed):
    import docx

    d = docx.Document(str(filed["docx"]))
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert heads == [text(f"report.section.{s}", "vi") for s in SECTIONS]
    assert d.paragraphs[0].style.name == "Title"
    assert d.paragraphs[0].text == text("report.title", "vi")
    assert len(d.tables) >= 8 and len(d.inline_shapes) >= 12 + 10
    assert d.sections[0].page_width.mm == pytest.approx(210, abs=0.5)
    s = docx.Document(str(filed["summary_docx"]))
    assert [p.text for p in s.paragraphs if p.style.name == "Heading 1"] == [
        text("report.section.summary", "vi")
    ]


# ------------------------------------------------------------------ the same figures
@pytest.mark.slow
def test_probabilities_are_those_uncertainty_printed(filed):
    doc = filed["html"]
    section = re.search(r"<section id='probability'>(.*?)</section>", doc, re.S).group(1)
    cells = re.findall(
        r"data-scenario='([^']+)' data-id='(T\d\d)' data-probability='([^']+)'>([^<]+)<", section
    )
    assert {s for s, *_ in cells} == set(WITH_BANDS)
    for name in WITH_BANDS:
        csv = pd.read_csv(filed["out"] / "uncertainty" / name / "probabilities.csv")
        got = {t: (float(p), shown) for s, t, p, shown in cells if s == name}
        assert set(got) == set(csv["id"])
        for r in csv.itertuples():
            assert got[r.id][0] == pytest.approx(r.probability, abs=1e-12)
            assert got[r.id][1] == f"{number(100 * r.probability, 'vi', digits=1)} %"
    # and the very lines hatinh-sd uncertainty printed (English, dot decimals), in order
    printed = re.findall(r"^\s+(T\d\d) .*?:\s+([\d.]+) %", filed["uncertainty_stdout"], re.M)
    expected = [
        (t, html.unescape(v).replace(" %", "").replace(",", "."))
        for name in WITH_BANDS
        for s, t, _p, v in cells
        if s == name
    ]
    assert printed == expected and len(printed) == 12 * len(WITH_BANDS)
    # the summary carries them beside the scorecard
    assert filed["summary_html"].count("data-probability=") == 12 * len(WITH_BANDS)


@pytest.mark.slow
def test_history_deviations_are_those_uncertainty_wrote(filed, model):
    """The report says how far each ensemble's runs are from the history checks' statistics
    with the figures of bands.nc, which are those of history_consistency.csv."""
    import json

    import xarray as xr

    from hatinh_sd.uncertainty import describe_deviations

    section = re.search(r"<section id='probability'>(.*?)</section>", filed["html"], re.S).group(1)
    for name in WITH_BANDS:
        folder = filed["out"] / "uncertainty" / name
        with xr.open_dataset(folder / "bands.nc") as ds:
            deviations = json.loads(ds.attrs["history_deviations"])
        table = pd.read_csv(folder / "history_consistency.csv")
        table = table[table["check"] != "all"].reset_index(drop=True)
        assert [d["check"] for d in deviations] == list(table["check"])
        for d, r in zip(deviations, table.itertuples()):
            assert d["share"] == pytest.approx(r.share, rel=1e-5)
            for col in ("deviation_p05", "deviation_median", "deviation_p95"):
                assert d[col] == pytest.approx(getattr(r, col), rel=1e-5, abs=1e-9)
        said = text(
            "report.probability.deviations",
            "vi",
            deviations=describe_deviations(deviations, model, "vi"),
        )
        assert html.escape(said) in section


@pytest.mark.slow
def test_summary_costs_are_those_of_compare(filed):
    folder = next(filed["out"].glob("compare_*_vi"))
    inv = pd.read_csv(folder / "investment.csv", encoding="utf-8-sig")
    col = {
        text(f"compare.col.{c}", "vi"): c
        for c in (
            "scenario",
            "period",
            "total",
            "state",
            "private",
            "fdi",
            "icor",
            "state_share_grdp",
        )
    }
    inv = inv.rename(columns=col)
    for doc in (filed["summary_html"], filed["html"]):
        cells = re.findall(
            r"data-scenario='([^']+)' data-period='([^']+)' data-cost='([^']+)' data-value='([^']+)'>([^<]+)<",
            doc,
        )
        assert cells
        for s, period, cost, value, shown in cells:
            row = inv[(inv["scenario"] == s) & (inv["period"] == period)].iloc[0]
            assert float(value) == pytest.approx(float(row[cost]), rel=1e-5)
            digits = 2 if cost == "icor" else 1
            assert shown == number(float(value), "vi", digits=digits)
    periods = set(re.findall(r"data-period='([^']+)'", filed["summary_html"]))
    assert periods == {"2026-2030"}


# ------------------------------------------------------------------ names and bad input
def test_report_names_carry_scenarios_and_language():
    a = report_name(["baseline", "action_programme"], "vi")
    assert a == "report_baseline_action_programme_vi"
    assert report_name(["baseline", "action_programme"], "en") != a
    assert report_name(["baseline"], "vi") != a
    assert report_name(["baseline", "action_programme"], "vi", summary=True).startswith("summary_")
    long = report_name([f"scenario_{i}" for i in range(12)], "vi")
    assert len(long) <= 64 and re.search(r"-[0-9a-f]{10}$", long)
    assert long != report_name([f"scenario_{i}" for i in range(13)], "vi")


def test_pdf_without_chromium_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HATINH_SD_CHROMIUM", str(tmp_path / "no-such-browser"))
    rc = main(["report", "--scenarios", "baseline", "--format", "pdf", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HATINH_SD_CHROMIUM" in err
    assert [p.name for p in tmp_path.iterdir()] == []
