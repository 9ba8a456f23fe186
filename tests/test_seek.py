"""Goal seeking: a reachable threshold is met when run; 'not reachable' is confirmed at the bounds."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from hatinh_sd.cli import main
from hatinh_sd.scenarios import load_catalogue, load_scenario, resolve_scenario
from hatinh_sd.seek import seek
from hatinh_sd.targets import is_met, scorecard

LEVERS = [
    "high tech adoption rate",
    "mechanisation rate",
    "urban reclassification rate",
    "FDI incentives",
]


@pytest.mark.slow
def test_reachable_threshold_is_met_by_the_written_scenario(tmp_path, model, baseline):
    base = float(baseline["employment_share_agriculture"].sel(time=2030))
    # what the levers reach at their favourable bounds (an unreachable threshold) ...
    far = seek(["T07"], levers=LEVERS, thresholds={"T07": 1.0}, model=model)
    assert not far.reachable and far.reached["T07"] < base - 0.05
    # ... so half-way there is reachable
    threshold = 0.5 * (base + far.reached["T07"])
    r = seek(["T07"], levers=LEVERS, thresholds={"T07": threshold}, model=model)
    assert r.reachable and r.changed()
    assert 0 < r.distance < np.sqrt(len(LEVERS))
    path = tmp_path / "answer.yaml"
    path.write_text(r.scenario_yaml(), encoding="utf-8")
    scn = load_scenario(str(path), model=model)
    ds = model.run(resolve_scenario(scn, model))
    value = float(ds["employment_share_agriculture"].sel(time=2030))
    assert is_met(value, "<", threshold) and value == pytest.approx(r.reached["T07"], rel=1e-6)
    # smallest change: moving every changed lever back 20 % of the way misses
    cat = load_catalogue(model=model)
    back = {n: old + 0.8 * (new - old) for n, (old, new) in r.changed().items()}
    ds2 = model.run(
        {**{model.real_name(k): v for k, v in resolve_scenario(scn, model).items()}, **back}
    )
    assert not is_met(float(ds2["employment_share_agriculture"].sel(time=2030)), "<", threshold)
    assert set(r.changed()) <= {n for n in cat.levers if cat.levers[n].seek}


def test_unreachable_answer_misses_at_every_favourable_bound(model):
    r = seek(["T08"], levers=["vocational training", "university enrolment rate"], model=model)
    assert not r.reachable
    cat = load_catalogue(model=model)
    corner = {
        n: cat.parameters[n].high for n in ["vocational training", "university enrolment rate"]
    }
    ds = model.run(corner)
    card = scorecard(ds, ids=["T08"])
    assert not bool(card["met"].iloc[0])
    assert r.reached["T08"] == pytest.approx(float(card["value"].iloc[0]), rel=1e-6)


def test_seek_command_says_plainly_and_writes_a_scenario(tmp_path, capsys):
    out = tmp_path / "s.yaml"
    assert (
        main(["seek", "--target", "T08", "--levers", "vocational training", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "Not reachable within the ranges" in printed and "T08 =" in printed
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["levers"]["vocational training"] == 30
    assert main(["run", "--scenario", str(out), "--out", str(tmp_path / "o")]) == 0


def test_seek_rejects_unknown_target_and_switch_lever(tmp_path, capsys):
    assert main(["seek", "--target", "T99", "--out", str(tmp_path / "a.yaml")]) == 2
    assert (
        main(
            [
                "seek",
                "--target",
                "T07",
                "--levers",
                "formosa phase 2",
                "--out",
                str(tmp_path / "a.yaml"),
            ]
        )
        == 2
    )
    assert "not a lever goal seeking may move" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def t07_halfway(model, baseline):
    """A T07 threshold half-way between the baseline and what LEVERS reach at their bounds."""
    base = float(baseline["employment_share_agriculture"].sel(time=2030))
    far = seek(["T07"], levers=LEVERS, thresholds={"T07": 1.0}, model=model)
    return 0.5 * (base + far.reached["T07"])


@pytest.mark.slow
def test_cost_objective_finds_a_cheaper_mix_within_the_budget(tmp_path, model, t07_halfway):
    from hatinh_sd.compare import BUDGET_SHORTFALL, budget_shortfall, public_cost, state_share

    kw = dict(levers=LEVERS, thresholds={"T07": t07_halfway}, model=model)
    near = seek(["T07"], **kw)
    cheap = seek(["T07"], objective="cost", **kw)
    assert near.reachable and cheap.reachable and cheap.limited_by == ""
    assert is_met(cheap.reached["T07"], "<", t07_halfway)
    # cheaper than the smallest change (by at least 0.1 trillion VND over 2026-2030) ...
    assert cheap.cost < near.cost - 0.1
    assert cheap.budget_unpaid <= BUDGET_SHORTFALL
    # ... and the written scenario, run, has that cost, share and indicator value
    path = tmp_path / "cheap.yaml"
    path.write_text(cheap.scenario_yaml(), encoding="utf-8")
    ds = model.run(resolve_scenario(load_scenario(str(path), model=model), model))
    assert public_cost(ds, 2026, 2030) == pytest.approx(cheap.cost, rel=1e-6)
    assert state_share(ds, 2026, 2030) == pytest.approx(cheap.state_share, rel=1e-6)
    assert budget_shortfall(ds, 2026, 2030) == pytest.approx(cheap.budget_unpaid, abs=1e-9)
    value = float(ds["employment_share_agriculture"].sel(time=2030))
    assert is_met(value, "<", t07_halfway)


@pytest.mark.slow
def test_cost_objective_says_when_the_budget_makes_a_target_unreachable(
    tmp_path, capsys, t07_halfway, overspend
):
    # a scenario whose plan asks more of the budget than it pays, and levers that cannot
    # lower that ask: every setting that meets the target is over the model's budget
    scn = overspend
    out = tmp_path / "s.yaml"
    argv = ["seek", "--target", "T07", "--threshold", f"T07={t07_halfway:.6f}"]
    argv += ["--scenario", str(scn), "--levers", ",".join(LEVERS)]
    argv += ["--objective", "cost", "--maxiter", "2"]
    assert main([*argv, "--out", str(out)]) == 3
    printed = capsys.readouterr().out
    assert "Not reachable within the model's budget" in printed
    assert "Public cost 2026-2030" in printed and out.exists()
    # bad input stays exit 2, nothing written
    bad = tmp_path / "bad.yaml"
    with pytest.raises(SystemExit) as exc:
        main([*argv[:-4], "--objective", "cheapest", "--out", str(bad)])
    assert exc.value.code == 2 and not bad.exists()
