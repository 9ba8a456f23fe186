"""An independent engine (pysimlin) runs the calibrated model as PySD does: the baseline
and parameter sets drawn over the factor table agree to 1e-9 in every variable and year."""

from __future__ import annotations

import sys

import pytest

from hatinh_sd.cli import main
from hatinh_sd.crosscheck import MIN_COMPARED, TOLERANCE, crosscheck
from hatinh_sd.mdlexport import calibrated_mdl, for_other_engines


def test_simlin_runs_the_model_as_pysd_does(model):
    result = crosscheck(model, "simlin", sets=20)
    print(result)
    assert result.compared >= MIN_COMPARED
    assert result.baseline_worst <= TOLERANCE
    assert result.sets_worst <= TOLERANCE


def test_the_command_prints_the_difference_and_exits_0(capsys):
    assert main(["crosscheck", "--engine", "simlin", "--sets", "0"]) == 0
    out = capsys.readouterr().out
    assert "largest relative difference" in out and "agree within 1.00e-09" in out


def test_delay_fixed_becomes_a_chain_for_other_engines_only(model):
    default = calibrated_mdl(model)
    assert "DELAY FIXED(GRDP, delay one year, initial GRDP)" in default
    other = calibrated_mdl(model, engine="simlin")
    assert "= DELAY FIXED" not in other  # named only in the stages' comments
    assert "\nGRDP last year = GRDP last year delay stage 8\n" in other  # 1 year / 0.125
    assert other == for_other_engines(default)
    with pytest.raises(ValueError, match="unknown engine"):
        calibrated_mdl(model, engine="stella")


def test_unknown_engine_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["crosscheck", "--engine", "vensim"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid choice: 'vensim'" in err


def test_missing_pysimlin_names_the_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "simlin", None)  # import simlin raises ImportError
    assert main(["crosscheck", "--sets", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install pysimlin" in err
