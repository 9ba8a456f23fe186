"""The explorer's callback logic, without a browser."""

from __future__ import annotations

import base64
import datetime
import json
from html.parser import HTMLParser

import numpy as np
import pytest
from dash import Patch, no_update

from hatinh_sd.app import logic
from hatinh_sd.app.callbacks import (
    load_outputs,
    message_of,
    message_view,
    only_changed,
    update_outputs,
)
from hatinh_sd.app.explorer import Explorer, find_bands
from hatinh_sd.commands.app import check_host
from hatinh_sd.data import load_observed
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import text
from hatinh_sd.targets import plan_targets, scorecard
from vietnamese import english_left


@pytest.fixture(scope="module")
def explorer(model, tmp_path_factory):
    return Explorer(model, outputs=tmp_path_factory.mktemp("outputs"))


def test_controls_cover_every_lever_with_model_ranges(model, explorer):
    levers = model.levers()
    assert {c.name for c in explorer.controls} == set(levers)
    for c in explorer.controls:
        p = levers[c.name]
        assert (c.low, c.high, c.default, c.units, c.group) == (
            p.low,
            p.high,
            p.default,
            p.units,
            p.group,
        )
        if c.kind == "slider":
            assert c.step <= (c.high - c.low) / 10
    kinds = {c.name: c.kind for c in explorer.controls}
    assert kinds["formosa phase 2"] == kinds["thach khe mine"] == "switch"
    assert kinds["formosa phase 2 year"] == kinds["investment policy start year"] == "year"
    assert kinds["vocational training"] == kinds["investment policy ramp years"] == "slider"
    groups = [c.group for c in explorer.controls]
    assert groups == sorted(groups) and set(groups) <= set(range(1, 11))


def test_every_lever_and_group_has_a_label_in_both_languages(explorer):
    for lang in ("vi", "en"):
        for c in explorer.controls:  # from the lever catalogue, scenarios/levers.yaml
            assert c.label[lang] == explorer.catalogue.label(c.name, lang) != ""
            assert explorer.catalogue.group_label(c.group, lang) != ""
    assert explorer.by_name["formosa phase 2"].kind == "switch"
    assert explorer.by_name["investment policy start year"].kind == "year"
    assert explorer.by_name["investment policy ramp years"].kind == "slider"


def test_baseline_values_give_no_parameters(explorer):
    assert explorer.params(explorer.default_values()) == {}


class _Table(HTMLParser):
    """Rows of the scorecard's HTML: row id (``head`` for the header) -> [(class, text)]."""

    def __init__(self, markup: str):
        super().__init__()
        self.rows: dict[str, list[tuple[str, str]]] = {}
        self._row = "head"
        self._cell: list[str] | None = None
        self._class = ""
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self._row = (a.get("id") or "score-head").removeprefix("score-")
            self.rows[self._row] = []
        elif tag in ("td", "th"):
            self._cell, self._class = [], a.get("class") or ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[self._row].append((self._class, "".join(self._cell)))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def scorecard_shown(markup) -> dict[str, dict[str, tuple[str, str]]]:
    """The scorecard component's cells: row -> column -> (class, text)."""
    rows = _Table(markup.children).rows
    return {row: dict(zip(logic.SCORE_COLUMNS, cells, strict=True)) for row, cells in rows.items()}


def test_update_runs_the_model_for_exact_settings(model, explorer):
    values = explorer.default_values()
    values["vocational training"] = 21.3
    values["thach khe mine"] = [1]
    values["thach khe year"] = 2034
    figure, card_shown, summary_line, summary, status, note, message = update_outputs(
        explorer, values, "en", False
    )
    params = {"vocational training": 21.3, "thach khe mine": 1.0, "thach khe year": 2034.0}
    direct = model.run(params)
    card = scorecard(direct)
    shown = json.loads(summary)
    assert shown["params"] == params
    for _, r in card.iterrows():
        assert shown["scorecard"][r["id"]] == pytest.approx(r["value"], rel=1e-12)
    # one figure: chart k's traces are k * CHART_TRACES ... (k + 1) * CHART_TRACES - 1
    assert len(figure["data"]) == 12 * logic.CHART_TRACES
    assert len(figure["layout"]["annotations"]) == 12  # a title per chart
    t08 = logic.chart_traces(figure, plan_targets().index("T08"))
    assert {t["xaxis"] for t in t08} == {f"x{plan_targets().index('T08') + 1}"}
    np.testing.assert_allclose(
        t08[1]["y"],
        direct["trained_labour_share"].sel(time=t08[1]["x"]).values,
        rtol=1e-6,
    )
    assert t08[3]["x"] == [2030] and t08[3]["y"] == [50.0]
    # T01, an average since 2020, is blank before 2021 (not a growth of zero)
    t01 = logic.chart_traces(figure, plan_targets().index("T01"))[1]
    assert t01["y"][: 2021 - 2010] == [None] * 11 and t01["y"][2021 - 2010] is not None
    cells = scorecard_shown(card_shown)
    assert list(cells) == ["head", *plan_targets()]
    for _, r in card.iterrows():
        assert cells[r["id"]]["value"] == ("num", logic.format_number(r["value"]))
        assert cells[r["id"]]["status"] == (
            "hsd-met" if r["met"] else "hsd-missed",
            text(f"scorecard.{r['status']}", "en"),
        )
    assert cells["head"]["value"][1] == text("scorecard.value", "en", year=2030)
    assert message == "" and note == ""
    assert f"{int(card['met'].sum())} of 12" in summary_line
    assert "3 lever(s)" in status
    # The same settings again come from the cache: no new model run.
    runs = explorer.cache.runs
    update_outputs(explorer, values, "vi", False)
    assert explorer.cache.runs == runs
    values["vocational training"] = 21.4
    update_outputs(explorer, values, "en", False)
    assert explorer.cache.runs == runs + 1


def test_lever_only_change_patches_the_current_line(explorer):
    values = explorer.default_values()
    values["investment climate"] = 1.2
    figure, *_ = update_outputs(explorer, values, "en", False, patch=True)
    assert isinstance(figure, Patch)
    full, *_ = update_outputs(explorer, values, "en", False)
    ops = figure.to_plotly_json()["operations"]
    lines = [logic.trace_index(k, logic.CURRENT_TRACE) for k in range(12)]
    assert ops == [
        {
            "operation": "Assign",
            "location": ["data", i, "y"],
            "params": {"value": full["data"][i]["y"]},
        }
        for i in lines
    ]


def test_only_what_changed_is_sent(explorer):
    from dash import html

    values = explorer.default_values()
    _figure, *page, _message = update_outputs(explorer, values, "en", False)
    parts = {
        "scorecard": page[0],
        "scorecard-summary": page[1],
        "run-status": page[3],
        "costs": html.Table("x"),
    }
    shown: dict[str, str] = {}
    assert only_changed(dict(parts), shown) == parts  # a new page: everything is sent
    again = only_changed(dict(parts), shown)
    assert all(v is no_update for v in again.values())
    # a change is sent; what the page did not receive (no_update) keeps its digest
    moved = {**parts, "scorecard-summary": page[1] + " ", "costs": no_update}
    out = only_changed(moved, shown)
    assert out["scorecard-summary"] == page[1] + " "
    assert out["scorecard"] is no_update and out["run-status"] is no_update
    assert out["costs"] is no_update
    assert only_changed({**parts, "costs": html.Table("y")}, shown)["costs"] is not no_update
    assert only_changed({"effects": "card"}, shown, skip=("effects",)) == {"effects": "card"}
    assert "effects" not in shown


@pytest.mark.parametrize(
    "name, raw",
    [
        ("vocational training", 99.0),  # above its range
        ("investment climate", -1.0),  # below its range
        ("formosa phase 2", [2]),  # not a switch value
        ("vocational training", "many"),  # not a number
        ("vocational trainings", 10.0),  # not a lever
    ],
)
def test_bad_lever_values_are_rejected_with_a_message(explorer, name, raw):
    values = explorer.default_values()
    values[name] = raw
    out = update_outputs(explorer, values, "en", False)
    assert out[0] is no_update and out[1] is no_update and out[2] is no_update
    assert out[6].startswith(text("app.error.rejected", "en", reason="")[:20])
    assert "'vocational training'" in out[6] or name in out[6]
    # and the app keeps working
    ok = update_outputs(explorer, explorer.default_values(), "en", False)
    assert ok[6] == ""


def test_out_of_range_message_names_the_range(explorer):
    values = explorer.default_values()
    values["vocational training"] = 99.0
    message = update_outputs(explorer, values, "vi", False)[6]
    assert "[3, 30]" in message and message.startswith("Thiết lập bị từ chối")


def test_shipped_scenario_sets_the_levers(model, explorer):
    from hatinh_sd.scenarios import available_scenarios, load_scenario, resolve_scenario

    names = [c.name for c in explorer.controls]
    for lang in ("vi", "en"):
        options = explorer.scenario_options(lang)
        assert {o["value"] for o in options} == set(available_scenarios())
        # titles only: no scenario id in the picker
        assert all(
            o["label"] == load_scenario(o["value"]).title.model_dump()[lang] for o in options
        )
    for name in ("formosa_phase2", "action_programme"):
        values, message = load_outputs(explorer, "scenario-load", names, name, None, None, "en")
        params = explorer.params(dict(zip(names, values)))
        resolved = {
            model.real_name(k): v for k, v in resolve_scenario(load_scenario(name), model).items()
        }
        assert params == {k: v for k, v in resolved.items() if v != model.parameters[k].default}
        title = load_scenario(name).title.model_dump()
        assert message.children == text("app.scenario.loaded", "en", name=title["en"])
        # the message is shown again in the other language, by the scenario's title
        assert message_view(explorer, message_of(message), "vi").children == text(
            "app.scenario.loaded", "vi", name=title["vi"]
        )
    values, message = load_outputs(explorer, "reset", names, None, None, None, "en")
    assert explorer.params(dict(zip(names, values))) == {}
    assert message.children == "" and message_of(message) is None
    values, message = load_outputs(explorer, "scenario-load", names, None, None, None, "en")
    assert values == [no_update] * len(names) and message.children == text(
        "app.scenario.none", "en"
    )


def _upload(body: str) -> str:
    return "data:application/x-yaml;base64," + base64.b64encode(body.encode()).decode()


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("title: [oops\n", "malformed YAML"),
        (
            "title: {vi: a, en: b}\ndescription: {vi: a, en: b}\ncites: x\nlevers: {vocational trainin: 10}\n",
            "unknown lever",
        ),
        (
            "title: {vi: a, en: b}\ndescription: {vi: a, en: b}\ncites: x\nlevers: {vocational training: 99}\n",
            "outside its range",
        ),
        ("- just a list\n", "mapping"),
    ],
)
def test_malformed_upload_is_rejected_naming_the_file(explorer, body, fragment):
    names = [c.name for c in explorer.controls]
    values, message = load_outputs(
        explorer, "scenario-upload", names, None, _upload(body), "mine.yaml", "en"
    )
    assert values == [no_update] * len(names)
    assert "mine.yaml" in message.children and fragment in message.children
    assert "/tmp" not in message.children


def test_saved_scenario_round_trips(model, explorer, tmp_path):
    from hatinh_sd.scenarios import load_scenario, resolve_scenario

    values = explorer.default_values()
    values.update({"vocational training": 12.5, "formosa phase 2": [1], "digital start year": 2028})
    body = explorer.scenario_yaml(values, "vi")
    path = tmp_path / "saved.yaml"
    path.write_text(body, encoding="utf-8")
    scn = load_scenario(str(path), model=model)
    resolved = {model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}
    changed = {k: v for k, v in resolved.items() if v != model.parameters[k].default}
    assert changed == {
        "vocational training": 12.5,
        "formosa phase 2": 1.0,
        "digital start year": 2028.0,
    }
    # uploading the saved file gives the same settings back
    names = [c.name for c in explorer.controls]
    back, _ = load_outputs(
        explorer, "scenario-upload", names, None, _upload(body), "saved.yaml", "en"
    )
    assert explorer.params(dict(zip(names, back))) == changed


def test_csv_is_the_current_run(model, explorer):
    values = explorer.default_values()
    values["labour export"] = 15.0
    lines = explorer.csv(values).splitlines()
    assert lines[0] == "\ufeffscenario,time,variable,long_name,value,units"  # BOM for Excel
    direct = model.run({"labour export": 15.0})
    row = [ln for ln in lines if ",2040,total_population," in ln][0]
    assert float(row.split(",")[4]) == pytest.approx(
        float(direct["total_population"].sel(time=2040)), rel=1e-12
    )
    assert len(lines) == 1 + len(direct.data_vars) * direct.sizes["time"]


def test_charts_show_only_observations_comparable_with_the_model(explorer):
    observed = load_observed()
    shown = explorer.observed_by_target
    urban = shown["T11"]
    pop = observed[(observed["indicator"] == "population_total") & (observed["year"] == 2020)]
    upop = observed[(observed["indicator"] == "population_urban") & (observed["year"] == 2020)]
    assert urban[2020] == pytest.approx(100 * upop["value"].iloc[-1] / pop["value"].iloc[-1])
    assert 10 < urban.min() and urban.max() < 40
    assert shown["T02"][2021] == pytest.approx(67.03)
    assert shown["T04"].empty  # no provincial series of the manufacturing share
    # agricultural employment: the older labour definition (55-65 %) is left out, the
    # 2024-2025 quarterly surveys are shown at their quarter's model time
    t07 = shown["T07"]
    assert t07.max() < 35 and len(t07) == 4  # 2022 H1 and 2024-2025 surveys
    assert t07.index.min() > 2022 and not float(t07.index.min()).is_integer()
    assert (
        not observed[observed["indicator"] == "employment_share_agriculture"]["value"].lt(35).all()
    )


def _band_ops(figure) -> dict[tuple, object]:
    return {
        tuple(o["location"]): o["params"]["value"] for o in figure.to_plotly_json()["operations"]
    }


def _band_shown(ex, values, lang="en", target="T11"):
    """(whether chart ``target`` gets a band, the note) when the levers move with the band on."""
    figure, *_, note, _message = update_outputs(ex, values, lang, True, patch=True)
    upper = logic.trace_index(plan_targets().index(target), logic.BAND_TRACES[1])
    return bool(_band_ops(figure)[("data", upper, "y")]), note


def test_uncertainty_toggle_without_live_bands_or_results_says_not_available(model, tmp_path):
    ex = Explorer(model, outputs=tmp_path, posterior=tmp_path / "missing.nc")
    offline = text("app.uncertainty.offline", "en", why=text("app.uncertainty.why.posterior", "en"))
    assert _band_shown(ex, ex.default_values()) == (
        False,
        offline
        + " "
        + text("app.uncertainty.unavailable", "en", scenario=ex.scenario_title("baseline", "en")),
    )


def _write_bands(folder, scenario: str, model_hash: str) -> np.ndarray:
    """A small ensemble's bands of the urbanisation rate for ``scenario``; returns its data."""
    import xarray as xr

    from hatinh_sd.results import write_netcdf
    from hatinh_sd.uncertainty import percentile_bands

    years = np.arange(2010, 2051)
    samples = np.arange(20)
    data = np.outer(1 + samples / 100, years - 2000.0)
    ens = xr.Dataset(
        {"urbanisation_rate": (("sample", "time"), data)},
        coords={"sample": samples, "time": years},
    )
    bands_ds = percentile_bands(ens, ["urbanisation_rate"])
    from hatinh_sd.model import load_model
    from hatinh_sd.results import fingerprint

    calibration = fingerprint(load_model())["calibration_sha256"]
    bands_ds.attrs = {
        "scenario": scenario,
        "n_runs": 20,
        "model_sha256": model_hash,
        "calibration_sha256": calibration,
    }
    (folder / "uncertainty" / scenario).mkdir(parents=True)
    write_netcdf(bands_ds, folder / "uncertainty" / scenario / "bands.nc")
    return data


def test_bands_from_a_precomputed_uncertainty_result(model, tmp_path):
    data = _write_bands(tmp_path, "baseline", model.hash)
    bands = find_bands(tmp_path, "baseline", model)
    assert bands is not None and bands.runs == 20 and (bands.low, bands.high) == (5.0, 95.0)
    assert bands.current and find_bands(tmp_path, "formosa_phase2", model) is None
    band = bands.variables["urbanisation_rate"]
    assert float(band.sel(percentile=95.0, time=2030)) == pytest.approx(
        np.percentile(data[:, 20], 95)
    )
    ex = Explorer(model, outputs=tmp_path, posterior=False)  # live bands off: the fallback
    # the whole figure holds the precomputed band
    figure, *_ = update_outputs(ex, ex.default_values(), "vi", True)
    t11 = logic.chart_traces(figure, plan_targets().index("T11"))
    assert len(t11) == 6 and t11[5]["fill"] == "tonexty"
    assert t11[4]["y"][20] == pytest.approx(np.percentile(data[:, 20], 5))
    # the band callback draws it, labelled as precomputed, with its file and date
    shown, note = _band_shown(ex, ex.default_values(), "vi")
    assert shown
    path = tmp_path / "uncertainty" / "baseline" / "bands.nc"
    date = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC).date()
    assert note == text(
        "app.uncertainty.precomputed",
        "vi",
        why=text("app.uncertainty.why.off", "vi"),
        low="5",
        high="95",
        runs="20",
        scenario=ex.scenario_title("baseline", "vi"),
        path=path.as_posix(),
        date=date.isoformat(),
    )
    assert not english_left(note)
    # without the toggle, no band; switching it off empties every band trace
    figure, *_ = update_outputs(ex, ex.default_values(), "vi", False)
    assert logic.chart_traces(figure, plan_targets().index("T11"))[5]["y"] == []
    figure, *_, note, _message = update_outputs(
        ex, ex.default_values(), "vi", False, patch=True, toggled=True
    )
    bands = {logic.trace_index(k, b) for k in range(12) for b in logic.BAND_TRACES}
    emptied = {loc[1]: v for loc, v in _band_ops(figure).items() if loc[1] in bands}
    assert note == "" and len(emptied) == 24 and all(v in ([], "") for v in emptied.values())


def test_band_only_for_the_scenario_it_was_computed_for(model, tmp_path):
    """The baseline's band is not drawn around another scenario or other settings."""
    _write_bands(tmp_path, "baseline", model.hash)
    _write_bands(tmp_path, "green_industry", "0" * 64)  # computed with another model
    ex = Explorer(model, outputs=tmp_path, posterior=False)  # live bands off: the fallback

    def shown(values, lang="en"):
        return _band_shown(ex, values, lang)

    def offline(lang):
        why = text("app.uncertainty.why.off", lang)
        return text("app.uncertainty.offline", lang, why=why) + " "

    # a shipped scenario without its own ensemble: no band, and the note says so
    formosa = ex.scenario_values("formosa_phase2")
    assert shown(formosa) == (
        False,
        offline("en")
        + text(
            "app.uncertainty.unavailable", "en", scenario=ex.scenario_title("formosa_phase2", "en")
        ),
    )
    # an ensemble computed with another version of the model: no band
    assert shown(ex.scenario_values("green_industry"), "vi") == (
        False,
        offline("vi")
        + text("app.uncertainty.stale", "vi", scenario=ex.scenario_title("green_industry", "vi")),
    )
    # settings of no shipped scenario: no band
    custom = ex.default_values()
    custom["vocational training"] = 21.3
    assert shown(custom) == (False, offline("en") + text("app.uncertainty.not_scenario", "en"))
    # the baseline's own settings: its band; a lever moved away empties it
    assert shown(ex.default_values())[0]
    figure, *_ = update_outputs(ex, custom, "en", True, patch=True)
    assert isinstance(figure, Patch)


def test_failed_live_band_falls_back_to_the_precomputed_one(model, tmp_path, monkeypatch):
    _write_bands(tmp_path, "baseline", model.hash)
    ex = Explorer(model, outputs=tmp_path, live_engine="inline")

    def broken(*_args):
        raise RuntimeError("engine down")

    monkeypatch.setattr(ex.live, "_run", broken)
    shown, note = _band_shown(ex, ex.default_values())
    assert shown, note
    precomputed = text(
        "app.uncertainty.precomputed",
        "en",
        why="-",
        low=5,
        high=95,
        runs=20,
        scenario="-",
        path="-",
        date="-",
    )
    assert note.startswith(precomputed.split("(")[0])
    assert text("app.uncertainty.why.failed", "en") in note and "bands.nc" in note
    # the explorer keeps serving: other settings have no band and say why
    custom = ex.default_values()
    custom["vocational training"] = 21.3
    assert _band_shown(ex, custom) == (
        False,
        text("app.uncertainty.offline", "en", why=text("app.uncertainty.why.failed", "en"))
        + " "
        + text("app.uncertainty.not_scenario", "en"),
    )


def test_excel_tables_in_the_language(model, explorer):
    from hatinh_sd.vocabulary import label

    values = explorer.scenario_values("formosa_phase2")
    params = explorer.params(values)
    direct = model.run(params)
    for lang in ("vi", "en"):
        sheets = explorer.xlsx_sheets(values, lang)
        card, results, levers = sheets.values()
        assert list(sheets) == [
            text(f"app.xlsx.sheet.{k}", lang) for k in ("scorecard", "results", "levers")
        ]
        assert list(card.columns) == [
            text("scorecard.id", lang),
            text("scorecard.indicator", lang),
            text("scorecard.target", lang),
            text("scorecard.value", lang, year=2030),
            text("scorecard.value", lang, year=2050),
            text("scorecard.status", lang),
        ]
        expected = scorecard(direct)
        np.testing.assert_allclose(card.iloc[:, 3], expected["value"], rtol=1e-12)
        assert list(card.iloc[:, 5]) == [text(f"scorecard.{s}", lang) for s in expected["status"]]
        assert set(results[text("app.xlsx.scenario", lang)]) == {
            explorer.scenario_title("formosa_phase2", lang)
        }
        var = results[text("app.xlsx.variable", lang)]
        year = results[text("app.xlsx.year", lang)]
        row = results[(var == label("total population", lang)) & (year == 2040)]
        assert float(row[text("app.xlsx.value", lang)].iloc[0]) == pytest.approx(
            float(direct["total_population"].sel(time=2040)), rel=1e-12
        )
        assert len(results) == len(direct.data_vars) * direct.sizes["time"]
        assert len(levers) == len(explorer.controls)
        if lang == "vi":
            words = set(sheets)
            for df in sheets.values():
                words.update(map(str, df.columns))
                for col in df.columns:
                    words.update(v for v in df[col] if isinstance(v, str))
            assert not english_left("\n".join(sorted(words)))


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5"])
def test_remote_host_needs_explicit_flag(host):
    with pytest.raises(HatinhInputError, match="--allow-remote"):
        check_host(host, allow_remote=False)
    check_host(host, allow_remote=True)
    check_host("127.0.0.1", allow_remote=False)


def test_cli_refuses_remote_host_without_flag(capsys):
    from hatinh_sd.cli import main

    assert main(["app", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_live_band_is_the_ensemble_of_the_same_draws(model, explorer):
    """The live band is the 5-95 % of ``hatinh-sd uncertainty``'s draws (n=200, its seed)
    with the settings fixed, run through ``run_ensemble``, to 1e-9."""
    from hatinh_sd.app.bands import LIVE_RUNS, LIVE_SEED
    from hatinh_sd.ensemble import run_ensemble
    from hatinh_sd.factors import load_factors
    from hatinh_sd.posterior import posterior_draws
    from hatinh_sd.project import default_project
    from hatinh_sd.targets import indicator_series
    from hatinh_sd.uncertainty import draw_with_posterior, percentile_bands

    values = explorer.scenario_values("formosa_phase2")
    params = explorer.params(values)
    figure, *_, note, _message = update_outputs(explorer, values, "vi", True, patch=True)
    assert note == text(
        "app.uncertainty.live", "vi", low="5", high="95", runs=LIVE_RUNS, seed=LIVE_SEED
    )
    assert not english_left(note)
    # the draws are the uncertainty command's
    factors = [
        f for f in load_factors(default_project().factors, model) if f.group == "uncertainty"
    ]
    names, draws = draw_with_posterior(factors, posterior_draws(model), LIVE_RUNS, LIVE_SEED)
    live_names, live_draws = explorer.live.draws()
    assert live_names == names and np.array_equal(live_draws, draws) and len(draws) >= 200
    ds = run_ensemble(
        draws,
        names,
        outputs=explorer.page_outputs,
        model=model,
        fixed=params,
        backend="inline",
        progress=False,
    )
    expected = percentile_bands(ds, explorer.page_outputs)
    live = explorer.live.cached(params)
    assert live is not None
    for var in explorer.page_outputs:
        np.testing.assert_allclose(
            live.variables[var].values,
            expected[var].sel(percentile=[5.0, 95.0]).values,
            rtol=1e-9,
            atol=0,
        )
    # and the charts' band traces are those values
    ops = _band_ops(figure)
    for tid in ("T01", "T11"):
        indicator = explorer.targets.loc[tid, "indicator"]
        low, high = (logic.trace_index(plan_targets().index(tid), b) for b in logic.BAND_TRACES)
        x = ops[("data", high, "x")]
        band = indicator_series(expected, indicator).sel(time=x)
        np.testing.assert_allclose(ops[("data", low, "y")], band.sel(percentile=5.0), rtol=1e-9)
        np.testing.assert_allclose(ops[("data", high, "y")], band.sel(percentile=95.0), rtol=1e-9)
        assert ops[("data", high, "name")] == text("app.uncertainty.band", "vi", low=5, high=95)
    # the same settings again: from the cache, not run again
    computed = explorer.live.computed
    update_outputs(explorer, values, "en", True, patch=True)
    assert explorer.live.computed == computed
    # the whole figure (a language switch) holds the same band
    figure, *_ = update_outputs(explorer, values, "en", True)
    t11 = logic.chart_traces(figure, plan_targets().index("T11"))
    assert t11[5]["y"] == ops[("data", high, "y")] and t11[5]["x"] == ops[("data", high, "x")]


def test_costs_are_those_of_compare_for_the_settings_on_screen(model, explorer):
    """The costs panel: compare's investment table (2026-2030) and public cost of the run on
    screen; the action programme's settings are over the model's budget, the baseline not."""
    from hatinh_sd.app.explorer import COST_COLUMNS
    from hatinh_sd.app.layout import costs_table
    from hatinh_sd.compare import investment_table, public_cost
    from hatinh_sd.scenarios import load_scenario, resolve_scenario
    from vietnamese import english_left, visible_text

    base = explorer.costs({})
    row = investment_table({"b": model.run()}).iloc[0]
    for c in COST_COLUMNS:
        assert base[c] == pytest.approx(float(row[c]), rel=1e-9, abs=1e-12)
    assert base["public_cost"] == pytest.approx(public_cost(model.run(), 2026, 2030), rel=1e-9)
    assert base["over_budget"] is False
    names = [c.name for c in explorer.controls]
    values, _ = load_outputs(explorer, "scenario-load", names, "action_programme", None, None, "en")
    programme = explorer.costs(dict(zip(names, values)))
    resolved = resolve_scenario(load_scenario("action_programme"), model)
    expected = investment_table(
        {"a": model.run({model.real_name(k): v for k, v in resolved.items()})}
    )
    assert programme["budget_unpaid"] == pytest.approx(float(expected.iloc[0]["budget_unpaid"]))
    assert programme["over_budget"] is True and programme["total"] > base["total"]
    panel = str(costs_table(programme, "vi"))
    assert "VƯỢT NGÂN SÁCH" in panel and english_left(visible_text(panel)) == []


def test_lever_effects_table_shows_the_stored_effects_of_the_settings_on_screen(model, tmp_path):
    """The lever-effects table reads what `hatinh-sd effects` stored: the effects computed
    with every lever as on screen (the loaded scenario's), else the baseline's, said so;
    effects of another model are named, not shown; an unknown choice is a clear error."""
    import pandas as pd
    import xarray as xr

    from hatinh_sd.app.layout import effects_table
    from hatinh_sd.cli import main
    from vietnamese import visible_text

    levers = "labour export,mechanisation rate"
    common = ["--n", "4", "--levers", levers, "--year", "2030", "2050"]
    for scenario in ("baseline", "action_programme"):
        argv = ["effects", "--scenario", scenario, *common, "--out", str(tmp_path)]
        assert main([*argv, "--workers", "0", "--no-progress"]) == 0
    explorer = Explorer(model, outputs=tmp_path, posterior=False)
    names = [c.name for c in explorer.controls]
    assert ("T07", 2050) in explorer.effect_choices() and (
        "T01",
        2050,
    ) not in explorer.effect_choices()

    # the baseline on screen: the baseline's effects, in the order and with the figures stored
    view = explorer.effects(explorer.default_values(), "T07 2030")
    assert view.scenario == "baseline" and view.matches and view.stale == []
    stored = pd.read_csv(tmp_path / "effects" / "baseline" / "effects.csv")
    rows = stored[(stored["target"] == "T07") & (stored["year"] == 2030)].sort_values("rank")
    assert list(view.table["lever"]) == list(rows["lever"])
    assert len(view.table) == 2
    panel = visible_text(str(effects_table(view, explorer, "en")))
    top = rows.iloc[0]
    assert explorer.scenario_title("baseline", "en") in panel
    assert f"{top['median_effect']:+.4g}".rstrip("0") in panel.replace(",", "")
    assert "These are the settings on screen" in panel

    # the action programme loaded: its own effects, in 2050 too
    values, _ = load_outputs(explorer, "scenario-load", names, "action_programme", None, None, "en")
    on_screen = dict(zip(names, values))
    view = explorer.effects(on_screen, "T07 2050")
    assert (view.scenario, view.matches, view.year) == ("action_programme", True, 2050)
    assert set(view.table["year"]) == {2050}

    # one lever moved from the baseline: the baseline's effects, said not to be these settings
    moved = {**explorer.default_values(), "labour export": 3.0}
    view = explorer.effects(moved, "T07 2030")
    assert view.scenario == "baseline" and not view.matches
    assert "not the settings on screen" in visible_text(str(effects_table(view, explorer, "en")))
    vi = visible_text(str(effects_table(view, explorer, "vi")))
    assert "Tác động trung vị" in vi and english_left(vi) == []

    # effects of another model: named, never shown
    nc = tmp_path / "effects" / "baseline" / "effects.nc"
    with xr.open_dataset(nc) as ds:
        old = ds.load()
    old.attrs["model_sha256"] = "0" * 64
    old.to_netcdf(nc)
    view = explorer.effects(explorer.default_values(), "T07 2030")
    assert view.scenario == "action_programme" and not view.matches
    assert view.stale == [nc.parent]
    assert str(nc.parent) in visible_text(str(effects_table(view, explorer, "en")))

    # no effects stored at all
    empty = Explorer(model, outputs=tmp_path / "none", posterior=False)
    view = empty.effects(empty.default_values(), "T01 2030")
    assert view.folder is None and view.table.empty
    assert "hatinh-sd effects" in visible_text(str(effects_table(view, empty, "vi")))

    with pytest.raises(HatinhInputError, match=r"'T01 2050'.*allowed: T01 2030, T02 2030"):
        explorer.effects(explorer.default_values(), "T01 2050")


def test_cli_refuses_an_unknown_engine(capsys):
    from hatinh_sd.cli import main

    with pytest.raises(SystemExit) as exc:  # argparse
        main(["app", "--engine", "vensim"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--engine" in err and "'simlin'" in err and "'pysd'" in err


# ---------------------------------------------------------------- requests the page never sends
@pytest.fixture(scope="module")
def served(explorer):
    """The explorer's Dash app behind Flask's test client, and a poster of callback requests
    built from the app's own callback map (``/_dash-dependencies``)."""
    from hatinh_sd.app import create_app

    client = create_app(explorer=explorer).server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    lever = {"kind": "slider", "name": "labour export", "type": "lever"}

    def post(marker, inputs, state=(), outputs=None):
        (dep,) = [
            d for d in deps if marker in d["output"] or marker in [i["id"] for i in d["inputs"]]
        ]
        if outputs is None:
            outputs = []
            for part in dep["output"].strip(".").split("..."):
                ident, prop = part.rsplit(".", 1)
                entry = {"id": lever, "property": prop}
                outputs.append(
                    [entry] if ident.startswith("{") else {"id": ident, "property": prop}
                )
        body = {
            "output": dep["output"],
            "outputs": outputs,
            "inputs": list(inputs),
            "state": list(state),
            "changedPropIds": [
                f"{i['id']}.{i['property']}" for i in inputs[:1] if isinstance(i, dict)
            ],
        }
        return client.post("/_dash-update-component", json=body)

    return post, lever


def _update(post, lever_entries, lang="en", choice="T07|2030", shown=None):
    return post(
        "charts.figure",
        [
            lever_entries,
            {"id": "lang", "property": "value", "value": lang},
            {"id": "effects-target", "property": "value", "value": choice},
            {"id": "uncertainty", "property": "value", "value": []},
        ],
        [{"id": "shown", "property": "data", "value": shown}],
    )


def _load(post, choice=None, contents=None, filename=None, lang="en"):
    return post(
        "scenario-upload",
        [
            {"id": "scenario-load", "property": "n_clicks", "value": 1},
            {"id": "scenario-upload", "property": "contents", "value": contents},
            {"id": "reset", "property": "n_clicks", "value": None},
        ],
        [
            {"id": "scenario-choice", "property": "value", "value": choice},
            {"id": "scenario-upload", "property": "filename", "value": filename},
            {"id": "lang", "property": "value", "value": lang},
        ],
    )


def test_requests_the_page_never_sends_are_answered_400(served):
    post, lever = served
    value = {"id": lever, "property": "value", "value": 5}
    ok = _update(post, [value])
    assert ok.status_code == 200, ok.get_data(as_text=True)[:300]
    bad = {
        "unknown language": _update(post, [value], lang="xx"),
        "language as a list": _update(post, [value], lang=["en"]),
        "unknown lever": _update(post, [{**value, "id": {**lever, "name": "nope"}}]),
        "effects choice as a mapping": _update(post, [value], choice={"a": 1}),
        "record as a list": _update(post, [value], shown=[1, 2]),
        "scenario choice as a list": _load(post, choice=["baseline"]),
        "upload as a number": _load(post, contents=123, filename="a.yaml"),
        "load in an unknown language": _load(post, choice="baseline", lang="xx"),
    }
    for what, response in bad.items():
        assert response.status_code == 400, (what, response.status_code)
    assert "a language is one of vi, en" in bad["unknown language"].get_data(as_text=True)
    assert "not a lever of the page" in bad["unknown lever"].get_data(as_text=True)
    # an unknown scenario name is the page's own kind of mistake: a message, not a 400
    missing = _load(post, choice="../../etc/passwd")
    assert missing.status_code == 200 and "no scenario named" in missing.get_data(as_text=True)


def test_language_switch_refuses_made_up_outputs_and_drops_made_up_messages(served):
    post, _ = served
    lang = [{"id": "lang", "property": "value", "value": "vi"}]

    def outputs(key="app.title", message=None):
        return [
            [{"id": {"key": key, "slot": "x", "type": "i18n"}, "property": "children"}],
            [],
            [],
            [],
            {"id": "scenario-choice", "property": "options"},
            {"id": "scenario-choice", "property": "placeholder"},
            {"id": "uncertainty", "property": "options"},
            [],
            {"id": "scenario-message", "property": "children"},
        ]

    def switch(message, key="app.title"):
        state = [{"id": "scenario-message", "property": "children", "value": message}]
        return post("scenario-choice.options", lang, state, outputs(key))

    fine = switch(None)
    assert fine.status_code == 200
    assert json.loads(fine.get_data(as_text=True))["response"]["scenario-choice"][
        "placeholder"
    ] == (text("app.scenario.placeholder", "vi"))
    assert switch(None, key="no.such.key").status_code == 400
    for made_up in ({"key": "no.such.key"}, {"key": "app.scenario.loaded", "fields": [1]}):
        forged = {"props": {"data-message": json.dumps(made_up)}}
        response = switch(forged)
        assert response.status_code == 200
        shown = json.loads(response.get_data(as_text=True))["response"]["scenario-message"]
        assert shown["children"]["props"]["children"] == ""
