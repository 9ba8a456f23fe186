"""Lever catalogue, scenario files, their expected directions, and bad scenario input."""

from __future__ import annotations

import shutil

import pytest
import yaml

from hatinh_sd.cli import main
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.project import default_project
from hatinh_sd.results import read_results
from hatinh_sd.scenarios import (
    Scenario,
    available_scenarios,
    load_catalogue,
    load_scenario,
    render_readme,
    resolve_scenario,
    run_scenario,
)
from hatinh_sd.targets import scorecard

SHIPPED = {
    "baseline",
    "action_programme",
    "formosa_phase2",
    "vung_ang_fdi_push",
    "human_capital",
    "agri_modernisation",
    "urban_centres",
    "green_industry",
    "plan_2012_check",
}


@pytest.fixture(scope="module")
def catalogue(model):
    return load_catalogue(model=model)


@pytest.fixture(scope="module")
def runs(model, catalogue):
    return {
        n: run_scenario(load_scenario(n, model=model, catalogue=catalogue), model)
        for n in available_scenarios()
    }


def test_every_task_group_is_mapped_or_outside(catalogue):
    assert sorted(catalogue.task_groups) == list(range(1, 11))
    for g, tg in catalogue.task_groups.items():
        assert bool(catalogue.levers_of(g)) != (tg.outside_boundary is not None), g
    economic = [g for g, tg in catalogue.task_groups.items() if tg.economic]
    assert economic == [2, 3, 4, 5, 6, 8]
    for g in economic:
        assert catalogue.levers_of(g), g


def test_every_lever_has_range_unit_descriptions_and_variable(model, catalogue):
    graph = model.dependency_graph()
    covered = set(catalogue.levers) | set(catalogue.timing_of)
    assert covered == set(model.levers())
    for name, entry in catalogue.levers.items():
        p = model.parameters[name]
        assert p.units and p.low < p.high, name
        assert p.low <= model.defaults[name] <= p.high, name
        assert entry.description.vi != entry.description.en, name
        for var in entry.sets:
            assert name in graph[var], (name, var)


def test_readme_is_rendered_from_the_catalogue(catalogue):
    assert (default_project().scenarios / "README.md").read_text(encoding="utf-8") == render_readme(
        catalogue
    )


def test_shipped_scenarios_have_both_languages_and_cites(model, catalogue):
    assert SHIPPED <= set(available_scenarios())
    for name in SHIPPED:
        s = load_scenario(name, model=model, catalogue=catalogue)
        assert s.title.vi != s.title.en and s.description.vi != s.description.en
        assert "26-CTr/TU" in s.cites
        if name != "baseline":
            assert s.expected, name


def test_action_programme_covers_every_group_inside_the_boundary(model, catalogue):
    s = load_scenario("action_programme", model=model, catalogue=catalogue)
    groups = {catalogue.group(n) for n in s.levers if n in catalogue.levers}
    inside = {g for g, tg in catalogue.task_groups.items() if tg.outside_boundary is None}
    assert inside <= groups


def test_every_expected_direction_holds(runs):
    base = scorecard(runs["baseline"]).set_index("id")
    checked = 0
    for name, ds in runs.items():
        card = scorecard(ds).set_index("id")
        scn = Scenario.model_validate(yaml.safe_load(ds.attrs["scenario_yaml"]))
        for e in scn.expected:
            col = "value" if e.year == 2030 else "value_2050"
            diff = card.loc[e.indicator, col] - base.loc[e.indicator, col]
            tol = 1e-6 * abs(base.loc[e.indicator, col])
            assert (diff > tol) if e.direction == "raise" else (diff < -tol), (name, e, diff)
            checked += 1
    assert checked >= 30


def test_plan_2012_lands_far_below_its_2020_per_capita(runs, model):
    ds = runs["plan_2012_check"]
    value = float(ds["grdp_per_capita_current"].sel(time=2020))
    assert value < 75.0  # the plan: 97.7 million VND; reality about 62
    assert float(runs["baseline"]["grdp_per_capita_current"].sel(time=2020)) < value
    params = resolve_scenario(load_scenario("plan_2012_check", model=model), model)
    assert min(v for k, v in params.items() if k.endswith("start_year")) == 2012


def test_step_and_ramp_become_timing_parameters(model, catalogue):
    s = Scenario.model_validate(
        {
            "title": {"vi": "a", "en": "b"},
            "description": {"vi": "a", "en": "b"},
            "cites": "x",
            "levers": {
                "vocational training": {"value": 15, "year": 2028},
                "FDI incentives": {"value": 1.2, "from": 2027, "to": 2031},
                "labour export": 12,
            },
        }
    )
    p = resolve_scenario(s, model, catalogue)
    assert p["vocational_training"] == 15 and p["vocational_training_start_year"] == 2028
    assert p["vocational_training_ramp_years"] == 0
    assert p["investment_policy_start_year"] == 2027 and p["investment_policy_ramp_years"] == 4
    assert p["labour_export"] == 12 and "labour_export_start_year" not in p
    ds = model.run(p)
    grads = ds["vocational_graduates"]
    assert float(grads.sel(time=2027)) == pytest.approx(model.defaults["vocational training"])
    assert float(grads.sel(time=2029)) == pytest.approx(15)


def test_run_scenario_writes_results_and_yaml(tmp_path, model):
    assert main(["run", "--scenario", "formosa_phase2", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "formosa_phase2"
    assert sorted(p.name for p in folder.iterdir()) == [
        "results.csv",
        "results.nc",
        "scenario.yaml",
        "scorecard.csv",
    ]
    ds = read_results(folder / "results.nc")
    assert ds.attrs["scenario"] == "formosa_phase2"
    doc = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    assert doc == yaml.safe_load(ds.attrs["scenario_yaml"])
    assert doc["levers"]["formosa phase 2"] == {"value": 1.0, "year": 2030.0}
    assert doc["levers"]["thach khe mine"] == 0  # merged from the baseline
    assert (
        float(ds["steel_output"].sel(time=2035)) > 10
    )  # 15 Mt/yr at the post-2022 operating rate (0.69)


@pytest.mark.slow
def test_run_all(tmp_path):
    assert main(["run", "--all", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == set(available_scenarios())


# ------------------------------------------------------------------ bad input
def _scenario_dir(tmp_path, text):
    folder = tmp_path / "scn"
    folder.mkdir()
    shutil.copy(default_project().scenarios / "baseline.yaml", folder / "baseline.yaml")
    (folder / "bad.yaml").write_text(text, encoding="utf-8")
    return folder


HEAD = "title: {vi: Thử, en: Try}\ndescription: {vi: Thử, en: Try}\ncites: 26-CTr/TU\n"


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            "levers:\n  vocational trainin: 12\n",
            ["bad.yaml", "line 5", "levers.vocational trainin", "'vocational training'"],
        ),
        ("levers:\n  vocational training: 99\n", ["line 5", "[3, 30]"]),
        (
            "levers:\n  vocational training: lots\n",
            ["line 5", "levers.vocational training", "'lots'"],
        ),
        (
            "levers:\n  vocational training: {value: 12, year: 2060}\n",
            ["levers.vocational training.year", "2010-2050"],
        ),
        (
            "levers:\n  vocational training: {value: 12, from: 2026, to: 2040}\n",
            ["ramp years", "[0, 10]"],
        ),
        ("levers:\n  vocational training: [12\n", ["malformed YAML", "line 6"]),
        ("colour: red\n", ["unknown key 'colour'", "line 4"]),
        (
            "levers:\n  FDI incentives: {value: 1.2, year: 2027}\n  logistics: {value: 1.2, year: 2029}\n",
            ["investment policy start year", "share their timing"],
        ),
        ("levers:\n  renewable additions: {value: 50, from: 2026, to: 2030}\n", ["step"]),
    ],
    ids=[
        "unknown-lever",
        "out-of-range",
        "wrong-type",
        "year-outside-time",
        "ramp-too-long",
        "malformed",
        "unknown-key",
        "timing-conflict",
        "no-ramp",
    ],
)
def test_bad_scenario_exits_2_and_writes_nothing(tmp_path, capsys, body, fragments):
    folder = _scenario_dir(tmp_path, HEAD + body)
    out = tmp_path / "out"
    assert main(["run", "--scenario", str(folder / "bad.yaml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err
    assert not out.exists()


def test_unknown_scenario_lists_the_available_ones(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--scenario", "formosa_phase3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "formosa_phase3" in err and "formosa_phase2" in err and "action_programme" in err
    assert not out.exists()
    assert main(["compare", "baseline", "nope", "--out", str(out)]) == 2
    assert not out.exists()


def test_catalogue_rejects_a_lever_the_model_lacks(tmp_path, model):
    doc = yaml.safe_load((default_project().scenarios / "levers.yaml").read_text(encoding="utf-8"))
    doc["levers"]["airport"] = doc["levers"]["logistics"]
    path = tmp_path / "levers.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(HatinhInputError, match="'airport' is not a lever"):
        load_catalogue(path, model)
    del doc["levers"]["airport"], doc["levers"]["logistics"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(HatinhInputError, match="'logistics' is missing"):
        load_catalogue(path, model)
