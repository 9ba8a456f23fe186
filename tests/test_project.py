"""The project layer: a second, toy project runs every command through ``--project``.

``tests/data/toy_project`` is a small model (two levers, two uncertain constants, two
targets) with its own data, scenarios, lever catalogue and factor table, and no
calibration or posterior. Nothing of Hà Tĩnh may leak into its results, and adding a lever
or a target must touch only the files the issue names.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hatinh_sd.cli import main
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.project import PROJECT_ENV_VAR, current_project, load_project, use_project
from hatinh_sd.results import read_results

TOY = Path(__file__).parent / "data" / "toy_project"
PROJECT = str(TOY / "project.yaml")


def farm_share_2030(training: float) -> float:
    """Industry's share of employment in 2030, by hand: the toy's farm workers leave at
    2 % a year plus 3 % times training, integrated by Euler steps of a quarter year."""
    farm = 60.0 * (1 - 0.25 * (0.02 + 0.03 * training)) ** 40
    return 100.0 - farm


def toy(*argv: str) -> int:
    return main(["--project", PROJECT, *argv])


def test_the_project_file_names_the_toy_files():
    p = load_project(PROJECT)
    assert p.model == TOY / "model" / "toy.mdl"
    assert p.calibration is None and p.posterior is None and p.calibration_setup is None
    assert p.region == {"vi": "Tỉnh Mẫu", "en": "Toy Province"}
    with use_project(p):
        assert current_project() is p
    assert current_project() is not p


def test_bad_project_files_are_one_clear_error(tmp_path):
    bad = tmp_path / "project.yaml"
    bad.write_text((TOY / "project.yaml").read_text(encoding="utf-8").replace("model:", "modle:"))
    with pytest.raises(HatinhInputError, match=r"project.yaml.*'modle'.*model"):
        load_project(bad)
    missing = tmp_path / "p2.yaml"
    text = (TOY / "project.yaml").read_text(encoding="utf-8")
    missing.write_text(text.replace("model/toy.mdl", "model/none.mdl"))
    with pytest.raises(HatinhInputError, match="the project's model is not found"):
        load_project(missing)
    with pytest.raises(HatinhInputError, match="project file not found"):
        load_project(tmp_path / "nothing.yaml")


def test_bad_project_option_exits_2(tmp_path, capsys):
    assert main(["--project", str(tmp_path / "none.yaml"), "run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "project file not found" in err[0]


def test_toy_project_runs_every_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(PROJECT_ENV_VAR, raising=False)
    # run: the scorecard of the toy's own targets, equal to the closed form
    assert toy("run", "--all", "--out", "out") == 0
    printed = capsys.readouterr().out
    assert "Industry share of employment" in printed and "GRDP" not in printed
    ds = read_results(Path("out/push/results.nc"))
    share = float(ds["industry_employment_share"].sel(time=2030))
    assert share == pytest.approx(farm_share_2030(0.8), rel=1e-12)
    assert "Toy model" in ds.attrs["title"]
    card = pd.read_csv("out/baseline/scorecard.csv")
    assert list(card["id"]) == ["T01", "T02"]

    # compare: two targets, no investment table (the toy has no investment accounts)
    assert toy("compare", "baseline", "push", "--out", "out") == 0
    printed = capsys.readouterr().out
    assert "(of 2)" in printed and "Push: T01 T02" in printed
    folder = Path("out/compare_baseline_push_en")
    assert (folder / "targets.csv").exists() and not (folder / "investment.csv").exists()

    # sensitivity: Morris over the four factors; only training moves the 2030 employment share
    config = str(TOY / "sensitivity" / "morris.yaml")
    assert toy("sensitivity", "morris", "--config", config, "--out", "out/sensitivity",
               "--workers", "0", "--no-progress") == 0  # fmt: skip
    capsys.readouterr()
    indices = pd.read_csv("out/sensitivity/morris/indices.csv")
    t02 = indices[indices["output"] == "T02_2030"].set_index("factor")["mu_star"]
    assert set(t02.index) == {"investment rate", "training", "depreciation rate", "tfp growth"}
    assert t02["training"] > 1 and t02.drop("training").abs().max() < 1e-9

    # uncertainty: no posterior, so the uncertain constants of the factor table are drawn
    assert toy("uncertainty", "--scenario", "baseline", "push", "--n", "20", "--workers", "0",
               "--out", "out/uncertainty", "--no-progress") == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "reproduce history" not in printed  # the toy has no history checks
    with xr.open_dataset("out/uncertainty/push/bands.nc") as ds:
        assert ds.attrs["draws_method"] == "independent"
        assert set(ds.data_vars) >= {"output_per_capita", "industry_employment_share"}
    prob = pd.read_csv("out/uncertainty/push/probabilities.csv").set_index("id")
    assert prob.loc["T02", "probability"] == 1.0  # the share depends on no uncertain constant

    # report: the toy's names, its two targets, no section it has no data for
    for lang in ("en", "vi"):
        assert toy("--lang", lang, "report", "--scenarios", "baseline", "push", "--out", "out") == 0
    html = Path("out/report/report_baseline_push_en.html").read_text(encoding="utf-8")
    assert "Toy Province industrialisation model" in html
    assert "Hà Tĩnh" not in Path("out/report/report_baseline_push_vi.html").read_text("utf-8")
    assert "Hà Tĩnh" not in html and "26-CTr" not in html
    assert "id='chart-T01'" in html and "id='chart-T02'" in html and "chart-T03" not in html
    assert "id='calibration'" not in html and "id='costs'" not in html
    assert "Training of farm youth" in html  # the lever's label from the toy's catalogue


def test_toy_project_explorer_callbacks(tmp_path):
    from hatinh_sd.app import create_app, logic
    from hatinh_sd.app.callbacks import update_outputs
    from hatinh_sd.app.explorer import Explorer
    from test_app_callbacks import scorecard_shown

    with use_project(PROJECT):
        explorer = Explorer(outputs=tmp_path, engine="pysd")
        assert [c.name for c in explorer.controls] == ["investment rate", "training"]
        values = explorer.default_values()
        values["training"] = 0.8
        figure, card, _line, _summary, _status, _note, message = update_outputs(
            explorer, values, "vi", False
        )
        assert message == "" and len(figure["data"]) == 2 * logic.CHART_TRACES
        cells = scorecard_shown(card)
        assert cells["T02"]["indicator"][1] == "Tỷ lệ lao động công nghiệp"
        assert cells["T02"]["status"][0] == "hsd-met" and cells["T01"]["status"][0] == "hsd-missed"
        t02 = logic.chart_traces(figure, 1)[1]
        y = dict(zip(t02["x"], t02["y"], strict=True))
        assert y[2030] == pytest.approx(farm_share_2030(0.8), rel=1e-6)  # charts keep 7 digits
        layout = str(create_app("vi", explorer=explorer).layout)
        assert "Công cụ khám phá công nghiệp hóa Tỉnh Mẫu" in layout
        assert "Đào tạo thanh niên nông thôn" in layout and "Nhóm 2: Đào tạo nghề" in layout


def test_docs_regenerates_the_toy_projects_readme_and_factor_table(tmp_path, capsys):
    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    assert main(["--project", str(root / "project.yaml"), "docs"]) == 0
    capsys.readouterr()
    for name in ("model/README.md", "sensitivity/factors.csv"):  # committed as docs writes them
        assert (root / name).read_text("utf-8") == (TOY / name).read_text("utf-8"), name


NEW_LEVER = """
subsidy = 0
\t~\tDmnl [0,0.2]
\t~\tlever g1: investment subsidy as a share of output. assumption: none by default.
\t|

"""

NEW_TARGET = "T03,farm_workers,2030,<,45,thousand persons,,toy,,farm_workers,Farm workers,Lao động nông nghiệp\n"


def test_adding_a_lever_or_a_target_touches_the_catalogue_and_targets_only(tmp_path):
    """A new lever: its equation in the .mdl and its entry in the catalogue. A new target: a
    row of targets.csv (with its labels). The scorecard and the explorer's page show both."""
    from hatinh_sd.app import create_app
    from hatinh_sd.app.callbacks import update_outputs
    from hatinh_sd.app.explorer import Explorer
    from hatinh_sd.targets import scorecard

    root = tmp_path / "toy"
    shutil.copytree(TOY, root)
    mdl = root / "model" / "toy.mdl"
    text = mdl.read_text(encoding="utf-8")
    text = text.replace(
        "investment = investment rate * output", "investment = (investment rate + subsidy) * output"
    )
    mdl.write_text(text.replace("investment rate = 0.2", NEW_LEVER.strip() + "\n\ninvestment rate = 0.2"), encoding="utf-8")  # fmt: skip
    levers = root / "scenarios" / "levers.yaml"
    levers.write_text(
        levers.read_text(encoding="utf-8")
        + """  subsidy:
    label: {vi: Trợ cấp đầu tư, en: Investment subsidy}
    sets: [investment]
    no_cost: "toy: not costed"
    effect_bound: {percent: 30, basis: "toy"}
    description: {vi: Trợ cấp đầu tư., en: An investment subsidy.}
""",
        encoding="utf-8",
    )
    targets = root / "model" / "data" / "targets.csv"
    targets.write_text(targets.read_text(encoding="utf-8") + NEW_TARGET, encoding="utf-8")

    with use_project(root / "project.yaml"):
        explorer = Explorer(outputs=tmp_path / "out", engine="pysd")
        card = scorecard(explorer.model.run({"subsidy": 0.1}))
        assert list(card["id"]) == ["T01", "T02", "T03"]
        t03 = card.set_index("id").loc["T03"]
        assert t03["value"] == pytest.approx(100 - farm_share_2030(0.0), rel=1e-12)
        assert bool(t03["met"]) is False  # 49.1 thousand farm workers, not below 45
        assert [c.name for c in explorer.controls] == ["investment rate", "subsidy", "training"]
        layout = str(create_app("en", explorer=explorer).layout)
        assert "Investment subsidy" in layout  # its control, labelled from the catalogue
        figure = update_outputs(explorer, explorer.default_values(), "en", False)[0]
        titles = [a["text"] for a in figure["layout"]["annotations"]]
        assert len(titles) == 3 and titles[2].startswith("T03")  # the new target's chart
        assert "Farm workers" in layout  # and its row of the scorecard
        base = explorer.model.run()["output"].sel(time=2030)
        more = explorer.model.run({"subsidy": 0.1})["output"].sel(time=2030)
        assert float(more) > float(base)  # the new lever acts through the investment it sets
    assert np.isfinite(float(base))
