"""Browser tests of the explorer (``hatinh-sd app``): Playwright drives Debian's chromium.

The app is served from a background thread on a free port. The tests move
levers and check that the charts and the scorecard show what a direct model
run gives for those settings, switch the language (no English left in the
Vietnamese page), load a shipped scenario, upload a malformed one, download
the CSV, the Excel workbook (both languages) and a saved scenario, check that
the live uncertainty band follows the scenario loaded, and write screenshots
under ``outputs/``. The median time from a slider change to the
updated chart is printed (``pytest -s``), not asserted.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import threading
import time

import numpy as np
import pandas as pd
import pytest

from hatinh_sd.app.bands import LIVE_RUNS, LIVE_SEED
from hatinh_sd.app.logic import CHART_TRACES, format_number, trace_index
from hatinh_sd.i18n import text
from hatinh_sd.model import repo_root
from hatinh_sd.results import atomic_file
from hatinh_sd.targets import indicator_series, plan_targets, scorecard, target_label
from vietnamese import english_left


@pytest.fixture(scope="module")
def app_url(model):
    from werkzeug.serving import make_server

    from hatinh_sd.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app("en")
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)
    app.explorer.live.close()  # the live bands' worker process


def explorer_catalogue():
    """The lever catalogue the explorer labels its levers from."""
    from hatinh_sd.model import load_model
    from hatinh_sd.scenarios import load_catalogue

    return load_catalogue(model=load_model())


def open_page(page, url):
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(url)
    page.wait_for_function(
        "() => { const s = document.getElementById('run-summary'); return s && s.textContent.length > 0 }",
        timeout=60_000,
    )
    page.wait_for_selector("#charts .js-plotly-plot .main-svg", timeout=60_000)


def summary(page) -> dict:
    return json.loads(page.locator("#run-summary").text_content())


def first_trace(tid: str) -> int:
    """Index of chart ``tid``'s first trace in the page's one figure (logic.charts_figure)."""
    return trace_index(plan_targets().index(tid), 0)


def chart_data(page, tid: str) -> list[dict]:
    return page.evaluate(
        """([k, n]) => document.querySelector('#charts .js-plotly-plot').data.slice(k, k + n)
            .map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))""",
        [first_trace(tid), CHART_TRACES],
    )


def band_of(page, tid: str) -> tuple[dict, dict]:
    """The lower and upper edge of chart ``tid``'s uncertainty band, as drawn."""
    data = chart_data(page, tid)
    return data[4], data[5]


def wait_for_band(page, tid: str, other_than: list | None = None, timeout: float = 60_000):
    """Wait until chart ``tid`` shows a band (one whose upper edge is not ``other_than``)."""
    page.wait_for_function(
        """([k, other]) => {
            const gd = document.querySelector('#charts .js-plotly-plot');
            if (!gd || !gd.data || gd.data.length < k + 6 || gd.data[k + 5].y.length === 0) return false;
            return other === null || JSON.stringify(Array.from(gd.data[k + 5].y)) !== JSON.stringify(other);
        }""",
        arg=[first_trace(tid), other_than],
        polling="raf",
        timeout=timeout,
    )


def thumb(page, lever: str):
    return page.locator(f'[data-lever="{lever}"] [role="slider"]')


def open_group(page, lever: str):
    """Open the task group holding ``lever`` (groups after the second start closed)."""
    details = page.locator(f'details:has([data-lever="{lever}"])')
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def wait_for_params(page, expected: dict, timeout: float = 30_000):
    page.wait_for_function(
        """(expected) => {
            const s = document.getElementById('run-summary').textContent;
            if (!s) return false;
            const p = JSON.parse(s).params;
            const keys = Object.keys(expected);
            return keys.length === Object.keys(p).length &&
                keys.every(k => Math.abs(p[k] - expected[k]) <= 1e-9 * Math.max(1, Math.abs(expected[k])));
        }""",
        arg=expected,
        timeout=timeout,
    )


def assert_page_matches_run(page, model, params: dict):
    """Scorecard and chart data in the page equal a direct model run with ``params``."""
    direct = model.run(params)
    card = scorecard(direct)
    shown = summary(page)
    assert shown["params"] == pytest.approx(params, rel=1e-12)
    for _, r in card.iterrows():
        assert shown["scorecard"][r["id"]] == pytest.approx(r["value"], rel=1e-9), r["id"]
        assert shown["met"][r["id"]] == bool(r["met"]), r["id"]
        cells = page.locator(f"#score-{r['id']} td")
        assert cells.nth(2).inner_text() == format_number(r["value"]), r["id"]
        assert cells.nth(6).inner_text() == text(f"scorecard.{r['status']}", "en"), r["id"]
    for tid, indicator in (
        ("T08", "trained_labour_share_certified"),
        ("T01", "grdp_growth_average_2021_2030"),  # blank before 2021
    ):
        current = chart_data(page, tid)[1]
        assert current["x"][0] == 2010 and current["x"][-1] == 2050
        expected = indicator_series(direct, indicator).sel(time=current["x"]).values
        got = np.array([np.nan if v is None else v for v in current["y"]], dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def assert_no_english(page, where: str):
    """The Vietnamese page's visible text has no English left (printed when there is)."""
    body = page.locator("body").inner_text()
    found = english_left(body)
    if found:
        lines = [ln for ln in body.splitlines() if any(f in ln for f in found)]
        print(f"\nEnglish left in the Vietnamese page ({where}): {found}")
        print("\n".join(f"  | {ln}" for ln in lines[:40]))
    assert not found, f"English left in the Vietnamese page ({where}): {found}"


def open_all_groups(page):
    closed = page.locator("details:not([open]) > summary")
    while closed.count():
        closed.first.click()


def choose_scenario(page, title: str):
    """Pick a shipped scenario by its title (the picker shows titles only) and load it."""
    page.click("#scenario-choice")
    page.get_by_role("dialog").get_by_text(title, exact=True).click()
    page.click("#scenario-load")


def check_workbook(path, lang: str, shown: dict):
    """The Excel download opens right and speaks ``lang``; its 2030 values are the page's."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        text(f"app.xlsx.sheet.{k}", lang) for k in ("scorecard", "results", "levers")
    ]
    words = set(wb.sheetnames)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref, ws.title
        floats = 0
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, float):
                    floats += 1
                    assert cell.number_format == "#,##0.00", (ws.title, cell.coordinate)
                elif isinstance(cell.value, str):
                    words.add(cell.value)
        assert floats, ws.title
        words.update(str(c.value) for c in ws[1])
    card, results = wb.worksheets[0], wb.worksheets[1]
    assert [c.value for c in card[1]] == [
        text("scorecard.id", lang),
        text("scorecard.indicator", lang),
        text("scorecard.target", lang),
        text("scorecard.value", lang, year=2030),
        text("scorecard.value", lang, year=2050),
        text("scorecard.status", lang),
    ]
    assert [c.value for c in results[1]] == [
        text(f"app.xlsx.{k}", lang) for k in ("scenario", "year", "variable", "unit", "value")
    ]
    values = {r[0]: r[3] for r in card.iter_rows(min_row=2, values_only=True)}
    assert values == pytest.approx(shown["scorecard"], rel=1e-9)
    if lang == "vi":
        found = english_left("\n".join(sorted(words)))
        bad = sorted(w for w in words if english_left(w)) if found else []
        assert not found, f"English left in the Vietnamese workbook: {found} in {bad[:20]}"


@pytest.mark.slow
def test_levers_drive_real_runs_csv_and_saved_scenario(page, app_url, model, baseline, tmp_path):
    open_page(page, app_url)
    assert summary(page)["params"] == {}
    base_t08 = chart_data(page, "T08")
    np.testing.assert_allclose(
        base_t08[0]["y"],
        baseline["trained_labour_share"].sel(time=base_t08[0]["x"]).values,
        rtol=1e-6,
    )

    # Move two levers to the end of their range (keyboard on the slider thumb).
    levers = model.levers()
    open_group(page, "vocational training")
    thumb(page, "vocational training").press("End")
    wait_for_params(page, {"vocational training": levers["vocational training"].high})
    thumb(page, "investment climate").press("End")
    params = {
        "vocational training": levers["vocational training"].high,
        "investment climate": levers["investment climate"].high,
    }
    wait_for_params(page, params)
    assert_page_matches_run(page, model, params)
    assert (
        summary(page)["scorecard"]["T08"]
        > scorecard(baseline).set_index("id").loc["T08", "value"] + 1
    )

    # Median time from a slider change to the updated chart (printed, not asserted).
    times = []
    fdi = levers["FDI incentives"]
    for _ in range(7):
        before = chart_data(page, "T01")[1]["y"][20]
        start = time.perf_counter()
        thumb(page, "FDI incentives").press("ArrowRight")
        page.wait_for_function(
            """([k, before]) => {
                const gd = document.querySelector('#charts .js-plotly-plot');
                return gd && gd.data && gd.data[k + 1].y[20] !== before;
            }""",
            arg=[first_trace("T01"), before],
            polling="raf",
            timeout=30_000,
        )
        times.append(time.perf_counter() - start)
    # Only what changed is sent: a further move of the same lever changes the run, not the
    # status line (three levers moved), the band's note or the lever-effects card.
    with page.expect_response(lambda r: "_dash-update-component" in r.url) as answer:
        thumb(page, "FDI incentives").press("ArrowRight")
    sent = set(answer.value.json()["response"])
    assert {"charts", "run-summary"} <= sent
    assert not sent & {"run-status", "bands-note", "effects"}, sent
    step = 10.0 ** math.floor(math.log10((fdi.high - fdi.low) / 50))  # the slider's step
    params["FDI incentives"] = round(fdi.default + 8 * step, 12)
    wait_for_params(page, params)
    assert_page_matches_run(page, model, params)
    print(
        f"\nslider change -> updated chart: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, n={len(times)})"
    )

    # CSV of the current run.
    with page.expect_download() as info:
        page.click("#csv-button")
    csv_path = tmp_path / "run.csv"
    info.value.save_as(csv_path)
    table = pd.read_csv(csv_path)
    assert list(table.columns) == ["scenario", "time", "variable", "long_name", "value", "units"]
    direct = model.run(params)
    row = table[(table["variable"] == "trained_labour_share") & (table["time"] == 2030)]
    assert float(row["value"].iloc[0]) == pytest.approx(
        float(direct["trained_labour_share"].sel(time=2030)), rel=1e-9
    )
    assert set(table["variable"]) == set(direct.data_vars)

    # Save as scenario: a valid scenario file giving exactly these parameters.
    from hatinh_sd.scenarios import load_scenario, resolve_scenario

    with page.expect_download() as info:
        page.click("#scenario-save")
    yaml_path = tmp_path / "saved_from_app.yaml"
    info.value.save_as(yaml_path)
    scn = load_scenario(str(yaml_path), model=model)
    resolved = {model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}
    changed = {k: v for k, v in resolved.items() if v != model.parameters[k].default}
    assert changed == pytest.approx(params, rel=1e-12)


@pytest.mark.slow
def test_language_scenarios_bad_upload_excel_and_screenshots(page, app_url, model, tmp_path):
    open_page(page, app_url)
    # Load a shipped scenario: the levers take its resolved parameters.
    from hatinh_sd.scenarios import load_scenario, resolve_scenario

    scn = load_scenario("formosa_phase2", model=model)
    title = scn.title.model_dump()
    resolved = {model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}
    expected = {k: v for k, v in resolved.items() if v != model.parameters[k].default}
    assert expected  # the scenario changes something
    choose_scenario(page, title["en"])
    wait_for_params(page, expected)
    assert_page_matches_run(page, model, expected)
    message = page.locator("#scenario-message")
    assert message.inner_text() == text("app.scenario.loaded", "en", name=title["en"])

    # A malformed uploaded scenario: a visible message naming the file; the app keeps serving.
    page.locator("#scenario-upload input[type=file]").set_input_files(
        files=[
            {
                "name": "broken.yaml",
                "mimeType": "text/yaml",
                "buffer": b"title: [unclosed\nlevers: {",
            }
        ]
    )
    message.filter(has_text="broken.yaml").wait_for(timeout=30_000)
    assert "malformed YAML" in message.inner_text()
    assert summary(page)["params"] == pytest.approx(expected)
    page.click("#reset")
    wait_for_params(page, {})

    # Switch to Vietnamese: labels, scorecard and chart titles.
    page.locator("#lang label", has_text="VI").click()
    page.locator("h1", has_text=text("app.title", "vi")).wait_for(timeout=30_000)
    page.wait_for_function(
        """([i, title]) => {
            const gd = document.querySelector('#charts .js-plotly-plot');
            return gd && gd.layout.annotations[i].text.replaceAll('<br>', ' ').includes(title);
        }""",
        arg=[plan_targets().index("T07"), target_label("T07", "vi")],
        timeout=30_000,
    )
    body = page.locator("body").inner_text()
    for key in (
        "app.levers",
        "scorecard.title",
        "app.scenario.save",
        "app.download_xlsx",
        "app.effects.title",
    ):
        assert text(key, "vi") in body, key
    # the lever-effects card: stored effects (or how to compute them), in Vietnamese
    page.locator("#effects-note").wait_for(timeout=30_000)
    label = page.locator('[data-lever="vocational training"] .hsd-lever-label')
    assert label.text_content() == explorer_catalogue().label("vocational training", "vi")
    assert explorer_catalogue().label("investment climate", "vi") in body
    # numbers as Vietnamese writes them: slider marks and ranges (0,02), calendar years (2045)
    spending = page.locator('[data-lever="science technology spending"]').inner_text()
    assert "0,02" in spending and "0.02" not in spending
    assert "2045" in page.locator('[data-lever="digital start year"]').text_content()
    assert text("app.chart.current", "vi") in body
    assert page.locator("#score-T07 td").nth(6).inner_text() in (
        text("scorecard.met", "vi"),
        text("scorecard.missed", "vi"),
        text("scorecard.exceeded", "vi"),
    )
    assert "Policy levers" not in body
    assert_no_english(page, "loaded")

    # Uncertainty toggle: the live band of the settings on screen, labelled in Vietnamese.
    page.locator("#uncertainty input").check()
    note = page.locator("#bands-note")
    live = text("app.uncertainty.live", "vi", low="5", high="95", runs=LIVE_RUNS, seed=LIVE_SEED)
    note.filter(has_text=live).wait_for(timeout=60_000)
    wait_for_band(page, "T11")

    # A shipped scenario loaded in Vietnamese, every lever group open: still no English.
    choose_scenario(page, title["vi"])
    wait_for_params(page, expected)
    message.filter(has_text=title["vi"]).wait_for(timeout=30_000)
    open_all_groups(page)
    assert_no_english(page, "scenario loaded, all lever groups open")

    out = repo_root() / "outputs"
    out.mkdir(exist_ok=True)
    # opening the groups scrolled the page and the lever panel: back to the top
    page.evaluate(
        "() => { window.scrollTo(0, 0); document.querySelector('.hsd-levers').scrollTop = 0 }"
    )
    for name in ("app_screenshot_vi.png",):
        with atomic_file(out / name) as tmp:
            page.screenshot(path=str(tmp), full_page=True, type="png")

    # Excel of the current run, in Vietnamese and in English.
    for lang in ("vi", "en"):
        if lang == "en":
            page.locator("#lang label", has_text="EN").click()
            page.locator("h1", has_text=text("app.title", "en")).wait_for(timeout=30_000)
            # the scenario's message is shown again in English
            message.filter(has_text=title["en"]).wait_for(timeout=30_000)
        with page.expect_download() as info:
            page.click("#xlsx-button")
        assert info.value.suggested_filename == f"hatinh_sd_app_run_{lang}.xlsx"
        path = tmp_path / f"run_{lang}.xlsx"
        info.value.save_as(path)
        check_workbook(path, lang, summary(page))

    page.locator("#uncertainty input").uncheck()
    wait_for_params(page, expected)  # the screenshot shows a scenario against the baseline
    page.wait_for_function(
        """(k) => { const gd = document.querySelector('#charts .js-plotly-plot');
                   return gd && gd.data[k + 5].y.length === 0 }""",
        arg=first_trace("T11"),
        timeout=30_000,
    )
    assert note.inner_text() == ""
    with atomic_file(out / "app_screenshot.png") as tmp:
        page.screenshot(path=str(tmp), full_page=True, type="png")
    assert (out / "app_screenshot.png").stat().st_size > 20_000


@pytest.mark.slow
def test_live_band_follows_the_loaded_scenario(page, app_url, model):
    """With bands on, the band follows the scenario loaded: the baseline's, then
    another scenario's own band, around that scenario's own line."""
    from hatinh_sd.scenarios import load_scenario, resolve_scenario

    open_page(page, app_url)
    page.locator("#uncertainty input").check()
    note = page.locator("#bands-note")
    live = text("app.uncertainty.live", "en", low="5", high="95", runs=LIVE_RUNS, seed=LIVE_SEED)
    note.filter(has_text=live).wait_for(timeout=60_000)
    wait_for_band(page, "T11")
    before = band_of(page, "T11")

    for name in ("formosa_phase2",):
        scn = load_scenario(name, model=model)
        resolved = {model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}
        expected = {k: v for k, v in resolved.items() if v != model.parameters[k].default}
        choose_scenario(page, scn.title.model_dump()["en"])
        wait_for_params(page, expected)
        wait_for_band(page, "T11", other_than=before[1]["y"])
        low, high = band_of(page, "T11")
        assert low["y"] != before[0]["y"] and high["y"] != before[1]["y"], name
        assert note.inner_text() == live
        # the band brackets this scenario's own line (a direct model run) in 2030
        direct = model.run(expected)
        line = float(indicator_series(direct, "urbanisation_rate").sel(time=2030))
        i = high["x"].index(2030)
        assert low["y"][i] < line < high["y"][i], (name, low["y"][i], line, high["y"][i])
        assert chart_data(page, "T11")[1]["y"][2030 - 2010] == pytest.approx(line, rel=1e-6)
        before = (low, high)
