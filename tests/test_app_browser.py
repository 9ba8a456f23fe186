"""Browser tests of the explorer (``hatinh-sd app``): Playwright drives Debian's chromium.

The app is served from a background thread on a free port. The tests move
levers and check that the charts and the scorecard show what a direct model
run gives for those settings, switch the language, load a shipped scenario,
upload a malformed one, download the CSV and a saved scenario, and write
screenshots under ``outputs/``. The median time from a slider change to the
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

from hatinh_sd.app.logic import format_number
from hatinh_sd.i18n import catalogue, text
from hatinh_sd.model import repo_root
from hatinh_sd.results import atomic_file
from hatinh_sd.targets import indicator_series, scorecard


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


def open_page(page, url):
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.goto(url)
    page.wait_for_function(
        "() => { const s = document.getElementById('run-summary'); return s && s.textContent.length > 0 }",
        timeout=60_000,
    )
    page.wait_for_selector('[id*=\'"target":"T12"\'] .js-plotly-plot .main-svg', timeout=60_000)


def summary(page) -> dict:
    return json.loads(page.locator("#run-summary").text_content())


def chart_data(page, tid: str) -> list[dict]:
    return page.evaluate(
        """(tid) => document.querySelector(`[id*='"target":"${tid}"'] .js-plotly-plot`).data
            .map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))""",
        tid,
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
            """(before) => {
                const gd = document.querySelector(`[id*='"target":"T01"'] .js-plotly-plot`);
                return gd && gd.data && gd.data[1].y[20] !== before;
            }""",
            arg=before,
            polling="raf",
            timeout=30_000,
        )
        times.append(time.perf_counter() - start)
    step = 10.0 ** math.floor(math.log10((fdi.high - fdi.low) / 50))  # the slider's step
    params["FDI incentives"] = round(fdi.default + 7 * step, 12)
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


def test_language_scenarios_bad_upload_and_screenshots(page, app_url, model):
    open_page(page, app_url)
    # Load a shipped scenario: the levers take its resolved parameters.
    from hatinh_sd.scenarios import load_scenario, resolve_scenario

    scn = load_scenario("formosa_phase2", model=model)
    resolved = {model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}
    expected = {k: v for k, v in resolved.items() if v != model.parameters[k].default}
    assert expected  # the scenario changes something
    page.click("#scenario-choice")
    page.get_by_text("(formosa_phase2)").click()
    page.click("#scenario-load")
    wait_for_params(page, expected)
    assert_page_matches_run(page, model, expected)
    assert "formosa_phase2" in page.locator("#scenario-message").inner_text()

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
    message = page.locator("#scenario-message")
    message.filter(has_text="broken.yaml").wait_for(timeout=30_000)
    assert "malformed YAML" in message.inner_text()
    assert summary(page)["params"] == pytest.approx(expected)
    page.click("#reset")
    wait_for_params(page, {})

    # Switch to Vietnamese: labels, scorecard and chart titles.
    page.locator("#lang label", has_text="VI").click()
    page.locator("h1", has_text=text("app.title", "vi")).wait_for(timeout=30_000)
    page.wait_for_function(
        """(title) => {
            const gd = document.querySelector(`[id*='"target":"T07"'] .js-plotly-plot`);
            return gd && gd.layout.title.text.replaceAll('<br>', ' ').includes(title);
        }""",
        arg=text("target.T07", "vi"),
        timeout=30_000,
    )
    body = page.locator("body").inner_text()
    for key in (
        "app.levers",
        "app.lever.investment climate",
        "scorecard.title",
        "app.scenario.save",
    ):
        assert text(key, "vi") in body, key
    label = page.locator('[data-lever="vocational training"] .hsd-lever-label')
    assert label.text_content() == text("app.lever.vocational training", "vi")
    assert text("app.chart.current", "vi") in body
    assert page.locator("#score-T07 td").nth(6).inner_text() in (
        text("scorecard.met", "vi"),
        text("scorecard.missed", "vi"),
        text("scorecard.exceeded", "vi"),
    )
    assert "Policy levers" not in body

    # Uncertainty toggle: bands or a clear 'not available' note.
    page.locator("#uncertainty input").check()
    note = page.locator("#bands-note")
    # bands when an ensemble result exists under outputs/, otherwise the 'not available' note
    shown = catalogue("vi")["app.uncertainty.shown"].split("{")[0].strip()
    unavailable = catalogue("vi")["app.uncertainty.unavailable"].split(":")[0].strip()
    note.filter(has_text=shown).or_(note.filter(has_text=unavailable)).wait_for(timeout=30_000)

    out = repo_root() / "outputs"
    out.mkdir(exist_ok=True)
    for name in ("app_screenshot_vi.png",):
        with atomic_file(out / name) as tmp:
            page.screenshot(path=str(tmp), full_page=True, type="png")
    page.locator("#lang label", has_text="EN").click()
    page.locator("h1", has_text=text("app.title", "en")).wait_for(timeout=30_000)
    page.locator("#uncertainty input").uncheck()
    page.click("#scenario-load")  # the screenshot shows a scenario against the baseline
    wait_for_params(page, expected)
    with atomic_file(out / "app_screenshot.png") as tmp:
        page.screenshot(path=str(tmp), full_page=True, type="png")
    assert (out / "app_screenshot.png").stat().st_size > 20_000
