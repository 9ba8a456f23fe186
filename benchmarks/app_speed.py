"""Explorer speed: slider change to updated charts, with and without live uncertainty bands.

Serves the explorer (``hatinh-sd app``) from a thread, drives it in Debian's
chromium through Playwright (as ``tests/test_app_browser.py`` does), moves one
slider a step at a time and measures, for each move, the time from the key press
to the page showing the new run:

* without bands: the charts' current-settings line (and with it the scorecard,
  same response) shows the new run;
* with bands (the toggle on): that line and the band (5-95 % of the 200 live
  runs, :mod:`hatinh_sd.app.bands`) both show the new settings; the time to
  the line alone is printed too (the band's ensemble runs beside it).

Where the time goes (2-core machine, quiet): the page's run takes about 2 ms in the model's
compiled kernel (hatinh_sd.compiled; 10 ms in pysimlin, 160 ms in PySD) and the server's
callback about 15 ms in all; the band's 200 draws about 45 ms in the kernel on two threads
(0.45 s in vectorised PySD), in the same request. Chromium (headless, software rendering)
spends about 0.15 s of main-thread work per update: Dash's handling of the change and of
the answer and the redraw of the one figure of 12 charts (12 separate figures took about a
third longer, and each further callback on the levers about 0.1 s more).

Every move is a new run: the explorer's run and band caches are emptied before
each key press (the slider steps back and forth). Each of ``--runs`` runs makes
``--moves`` moves without bands, then ``--moves`` with, and prints the median,
quartiles and extremes; the load average of the machine is printed beside it
(another job on the machine slows the runs down). Targets (issue 13, item 4):
median <= 0.25 s without bands, <= 0.35 s with.

Usage::

    python benchmarks/app_speed.py --runs 3 --moves 15 [--lever "FDI incentives"]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

# Debian's chromium, launched as the browser tests launch it (tests/browser.py)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

CHART = "T01"

#: The traces watched: the current-settings line and the band's upper edge of chart CHART
#: (the first: T01) in the explorer's one figure (hatinh_sd.app.logic.trace_index).
LINE, BAND = 1, 5

STATE_JS = """([line, band]) => {
    const gd = document.querySelector('#charts .js-plotly-plot');
    if (!gd || !gd.data) return null;
    return {line: JSON.stringify(Array.from(gd.data[line].y)),
            band: gd.data.length > band ? JSON.stringify(Array.from(gd.data[band].y)) : ''};
}"""

WAIT_JS = """([line, band, before, bands]) => {
    const gd = document.querySelector('#charts .js-plotly-plot');
    if (!gd || !gd.data) return false;
    if (JSON.stringify(Array.from(gd.data[line].y)) === before.line) return false;
    if (!bands) return true;
    const now = JSON.stringify(Array.from(gd.data[band].y));
    return now !== before.band && now !== '[]';
}"""


def serve(lang: str = "en"):
    """The explorer served on a free local port: (url, app, server, thread)."""
    from werkzeug.serving import make_server

    from hatinh_sd.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app(lang)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}/", app, server, thread


def clear_caches(explorer) -> None:
    """Forget every run and band, so that the next move runs the model again."""
    with explorer.cache._lock:
        explorer.cache._runs.clear()
    live = getattr(explorer, "live", None)  # none in an explorer without live bands
    if live is not None:
        with live._lock:
            live._cache.clear()


def measure(page, explorer, lever: str, moves: int, bands: bool) -> tuple[list[float], list[float]]:
    """Seconds from each key press to the updated charts (``moves`` moves): to the
    charts with everything asked for (the band too with ``bands``), and to the
    current-settings line alone."""
    thumb = page.locator(f'[data-lever="{lever}"] [role="slider"]')
    times, lines = [], []
    for i in range(moves):
        before = page.evaluate(STATE_JS, [LINE, BAND])
        clear_caches(explorer)
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        start = time.perf_counter()
        thumb.press(key)
        page.wait_for_function(
            WAIT_JS, arg=[LINE, BAND, before, False], polling="raf", timeout=60_000
        )
        lines.append(time.perf_counter() - start)
        if bands:
            page.wait_for_function(
                WAIT_JS, arg=[LINE, BAND, before, True], polling="raf", timeout=60_000
            )
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(150)  # let the page settle (a late band would skew the next move)
    return times, lines


def stats(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=4)
    return {
        "median": statistics.median(times),
        "q1": q[0],
        "q3": q[2],
        "min": min(times),
        "max": max(times),
        "n": len(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--moves", type=int, default=15, help="slider moves per case and run")
    parser.add_argument("--lever", default="FDI incentives", help="slider moved")
    parser.add_argument("--chromium", default=CHROMIUM, help="browser executable")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    url, app, server, thread = serve()
    explorer = app.explorer
    explorer.live.warm()
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(url)
            page.wait_for_selector("#charts .js-plotly-plot .main-svg", timeout=60_000)
            page.wait_for_function(
                "() => document.getElementById('run-summary').textContent.length > 0",
                timeout=60_000,
            )
            details = page.locator(f'details:has([data-lever="{args.lever}"])')
            if details.get_attribute("open") is None:
                details.locator("summary").click()
            measure(page, explorer, args.lever, 2, bands=False)  # warm the page
            for run in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                page.locator("#uncertainty input").uncheck()
                page.wait_for_timeout(300)
                without, _ = measure(page, explorer, args.lever, args.moves, bands=False)
                page.locator("#uncertainty input").check()
                page.wait_for_function(
                    "() => document.getElementById('bands-note').textContent.length > 0",
                    timeout=60_000,
                )
                page.wait_for_timeout(300)
                with_bands, lines = measure(page, explorer, args.lever, args.moves, bands=True)
                load_after = os.getloadavg()[0]
                row = {
                    "run": run,
                    "without_bands": stats(without),
                    "with_bands": stats(with_bands),
                    "with_bands_line_only": stats(lines),
                    "load_average_1min": [round(load, 2), round(load_after, 2)],
                }
                results.append(row)
                w, b = row["without_bands"], row["with_bands"]
                print(
                    f"run {run}: without bands median {w['median']:.3f} s "
                    f"(quartiles {w['q1']:.3f}-{w['q3']:.3f}, {w['min']:.3f}-{w['max']:.3f}); "
                    f"with bands median {b['median']:.3f} s "
                    f"(quartiles {b['q1']:.3f}-{b['q3']:.3f}, {b['min']:.3f}-{b['max']:.3f}); "
                    f"line alone then {statistics.median(lines):.3f} s; "
                    f"n={w['n']} each; load average {load:.2f} -> {load_after:.2f}",
                    flush=True,
                )
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        explorer.live.close()
    band_seconds = [b.seconds for b in explorer.live._cache.values()]
    summary = {
        "targets_s": {"without_bands": 0.25, "with_bands": 0.35},
        "cpus": os.cpu_count(),
        "live_runs": explorer.live.runs,
        "runs": results,
        "last_band_ensemble_s": band_seconds[-1] if band_seconds else None,
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
