"""Sensitivity pipeline: known answers (Ishigami, Sobol G), configuration errors, a small run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hatinh_sd.charts.sensitivity import plot_bars, plot_heatmap
from hatinh_sd.cli import main
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.sensitivity import (
    analyse,
    load_config,
    problem,
    run_analysis,
    sample,
)


def ishigami(u: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def g_function(u: np.ndarray, a: np.ndarray) -> np.ndarray:
    return np.prod((np.abs(4 * u - 2) + a) / (1 + a), axis=1)


def test_ishigami_sobol_indices_match_analytic_values():
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    s1 = np.array([v1, v2, 0]) / var
    st = np.array([v1 + v13, v2, v13]) / var
    prob = problem(["x1", "x2", "x3"])
    x = sample("sobol", prob, 2048, seed=1)
    res = analyse("sobol", prob, x, ishigami(x), seed=1)
    assert np.allclose(res["S1"], s1, atol=0.03)
    assert np.allclose(res["ST"], st, atol=0.03)
    assert np.all(res["ST_conf"] < 0.1)


def test_g_function_sobol_indices_match_analytic_values():
    a = np.array([0, 1, 4.5, 9, 99, 99])
    vi = 1 / (3 * (1 + a) ** 2)
    var = np.prod(1 + vi) - 1
    s1 = vi / var
    st = vi * np.array([np.prod(np.delete(1 + vi, i)) for i in range(len(a))]) / var
    prob = problem([f"x{i}" for i in range(len(a))])
    x = sample("sobol", prob, 4096, seed=2)
    res = analyse("sobol", prob, x, g_function(x, a), seed=2)
    assert np.allclose(res["S1"], s1, atol=0.03)
    assert np.allclose(res["ST"], st, atol=0.03)


def test_morris_ranks_ishigami_factors():
    prob = problem(["x1", "x2", "x3"])
    x = sample("morris", prob, 200, seed=3)
    res = analyse("morris", prob, x, ishigami(x), seed=3)
    # x3 acts only with x1, x1 and x2 dominate; elementary effects of x3 are smallest
    assert res["mu_star"][2] < res["mu_star"][0]
    assert res["mu_star"][2] < res["mu_star"][1]


def test_same_seed_same_design():
    prob = problem(["a", "b", "c"])
    assert np.array_equal(sample("sobol", prob, 64, 5), sample("sobol", prob, 64, 5))
    assert not np.array_equal(sample("sobol", prob, 64, 5), sample("sobol", prob, 64, 6))
    assert np.array_equal(sample("morris", prob, 8, 5), sample("morris", prob, 8, 5))


@pytest.mark.parametrize(
    "config",
    [
        "sensitivity/morris_all.yaml",
        "sensitivity/sobol_targets.yaml",
        "sensitivity/sobol_groups.yaml",
    ],
)
def test_shipped_configurations_load(model, config):
    from hatinh_sd.model import repo_root

    cfg = load_config(repo_root() / config, model)
    assert len(cfg.factors) >= 2 and cfg.outputs
    labels = {o.label for o in cfg.outputs}
    if cfg.method == "sobol":
        for t in range(1, 12):
            assert f"T{t:02d}_2030" in labels and f"T{t:02d}_2050" in labels
    else:
        assert len(cfg.factors) >= 30


def _config(tmp_path, body: str):
    path = tmp_path / "c.yaml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "method: sobol\nn: 100\nfactors: [hiring delay, logistics]\noutputs: [{target: T01}]\n",
            "power of two",
        ),
        (
            "method: morris\nn: 1\nfactors: [hiring delay, logistics]\noutputs: [{target: T01}]\n",
            "at least 2 trajectories",
        ),
        ("method: fast\nn: 8\noutputs: [{target: T01}]\n", "Input should be 'morris' or 'sobol'"),
        (
            "method: morris\nn: 4\nfactors: [hiring delays, logistics]\noutputs: [{target: T01}]\n",
            "did you mean 'hiring delay'",
        ),
        (
            "method: morris\nn: 4\nfactors: [hiring delay, logistics]\noutputs: [{target: T99}]\n",
            "unknown target 'T99'",
        ),
        ("method: morris\nn: 4\nsamples: 3\noutputs: [{target: T01}]\n", "unknown key 'samples'"),
    ],
)
def test_bad_configuration_is_one_clear_error(model, tmp_path, body, message):
    with pytest.raises(HatinhInputError) as err:
        load_config(_config(tmp_path, body), model)
    assert message in str(err.value)
    assert "c.yaml" in str(err.value)


def test_cli_bad_n_exits_2_and_writes_nothing(tmp_path, capsys):
    cfg = _config(
        tmp_path,
        "method: sobol\nn: 100\nfactors: [hiring delay, logistics]\noutputs: [{target: T01}]\n",
    )
    out = tmp_path / "out"
    assert main(["sensitivity", "sobol", "--config", str(cfg), "--out", str(out)]) == 2
    assert "power of two" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("method", "n", "message"), [("sobol", "12", "power of two"), ("morris", "1", "at least 2")]
)
def test_cli_bad_n_option_exits_2_and_writes_nothing(tmp_path, capsys, method, n, message):
    """``--n`` (the main job's small ensembles) is checked like the configuration's n."""
    cfg = _config(
        tmp_path,
        f"method: {method}\nn: 8\nfactors: [hiring delay, logistics]\noutputs: [{{target: T01}}]\n",
    )
    out = tmp_path / "out"
    argv = ["sensitivity", method, "--config", str(cfg), "--n", n, "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "key '--n'" in err and message in err
    assert not out.exists()


def test_small_morris_run_end_to_end(model, tmp_path):
    cfg = load_config(
        _config(
            tmp_path,
            "method: morris\nn: 4\nseed: 9\nchunk_size: 4\n"
            "factors: [vocational training, hiring delay, initial share services]\n"
            "outputs:\n  - {variable: grdp, year: 2013}\n"
            "  - {variable: grdp_per_capita_current, mean: [2011, 2013]}\n"
            "  - {variable: share_industry, every_year: true}\n",
        ),
        model,
    )
    res = run_analysis(
        cfg, model=model, backend="inline", final_time=2013, progress=False, checks_per_chunk=1
    )
    table = res.table
    assert res.values.shape == (16, 3)
    assert set(table["output"]) == {
        "grdp_2013",
        "grdp_per_capita_current_mean_2011_2013",
        "share_industry_every_year",
    }
    grdp = table[table["output"] == "grdp_2013"].set_index("factor")
    # the training policy starts in 2026: no effect on 2013; the hiring delay acts at once
    assert grdp.loc["vocational training", "mu_star"] == pytest.approx(0, abs=1e-9)
    assert grdp.loc["hiring delay", "mu_star"] > 0
    # GRDP per capita depends on the size of services in 2010
    nominal = table[table["output"] == "grdp_per_capita_current_mean_2011_2013"]
    assert nominal.set_index("factor").loc["initial share services", "mu_star"] > 0
    assert set(res.convergence["output"]) == {
        "grdp_2013",
        "grdp_per_capita_current_mean_2011_2013",
    }
    plot_bars(table, "morris", "grdp_2013", tmp_path / "b.png")
    plot_heatmap(table, "morris", "share_industry_every_year", tmp_path / "h.png")
    assert (tmp_path / "b.png").stat().st_size > 1000 and (tmp_path / "h.png").stat().st_size > 1000
    assert dataclasses.is_dataclass(cfg)


@pytest.mark.parametrize("name", ["morris", "sobol"])
def test_each_method_counts_the_runs_its_sampler_draws(name):
    """The registry pairs SALib's sampler and analyser: the run count the configuration
    check uses is the number of rows the sampler draws, and the analyser returns the
    method's ranking and first-order indices."""
    from hatinh_sd.sensitivity import METHODS, analyse, problem, sample, sample_size_problem

    m = METHODS[name]
    prob = problem(["x1", "x2", "x3"])
    for second_order in (False, True) if m.groups else (False,):
        x = sample(name, prob, 8, seed=3, second_order=second_order)
        assert x.shape == (m.runs(8, 3, second_order), 3)
    y = x[:, 0] * 2.0 + x[:, 1]
    got = analyse(name, prob, x, y, seed=3, second_order=second_order, num_resamples=10)
    assert {m.main_index, m.first_index} <= set(got) and got[m.main_index].shape == (3,)
    assert got[m.main_index][2] < got[m.main_index][0]  # x3 does nothing, x1 most
    assert sample_size_problem(name, 1, 3) == m.n_problem(1) is not None


def test_cli_config_by_name_is_the_projects_file(tmp_path, capsys):
    """``--config morris_all`` names ``sensitivity/morris_all.yaml`` (checked here through a
    sample size the file's method refuses, so nothing runs)."""
    out = tmp_path / "out"
    argv = ["sensitivity", "morris", "--config", "morris_all", "--n", "1", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "key '--n'" in err and "at least 2" in err, err
    assert not out.exists()
