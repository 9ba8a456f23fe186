"""The results store: the report and the explorer read current stored runs back instead of
running the model, and compute again when the stored results belong to another model."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from hatinh_sd.cli import main
from hatinh_sd.model import Model
from hatinh_sd.project import use_project
from hatinh_sd.results import read_results, write_netcdf
from hatinh_sd.store import Store

TOY = Path(__file__).parent / "data" / "toy_project" / "project.yaml"


@contextlib.contextmanager
def counting_runs(monkeypatch):
    """Count :meth:`Model.run` calls inside the block."""
    calls: list[str] = []
    real = Model.run

    def run(self, *args, **kwargs):
        calls.append(str(kwargs.get("scenario", "")))
        return real(self, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(Model, "run", run)
        yield calls


def test_report_and_explorer_make_no_run_when_stored_runs_are_current(tmp_path, monkeypatch):
    from hatinh_sd.app.callbacks import update_outputs
    from hatinh_sd.app.explorer import Explorer
    from hatinh_sd.model import load_model
    from hatinh_sd.report import write_report

    out = tmp_path / "out"
    assert main(["--project", str(TOY), "run", "--all", "--out", str(out)]) == 0
    with use_project(TOY):
        model = load_model()
        with counting_runs(monkeypatch) as calls:
            write_report(model, ["baseline", "push"], tmp_path / "r.html", outputs=out)
            explorer = Explorer(model, outputs=out, engine="pysd")
            update_outputs(explorer, explorer.default_values(), "en", False)
        assert calls == []  # every run read back from outputs/
        # a stored run of another model is stale: computed again, and only that one
        ds = read_results(out / "push" / "results.nc")
        ds.attrs["model_sha256"] = "0" * 64
        write_netcdf(ds, out / "push" / "results.nc")
        with counting_runs(monkeypatch) as calls:
            write_report(model, ["baseline", "push"], tmp_path / "r.html", outputs=out)
        assert calls == ["push"]
        # another setting than the stored run's is computed too
        assert Store(out).run(model, "baseline", {"training": 0.5}) is None
        assert Store(out).run(model, "baseline", {"training": 0.0}) is not None


def test_derived_runs_are_computed_once_per_model_and_inputs(tmp_path):
    from hatinh_sd.model import load_model

    with use_project(TOY):
        model = load_model()
        store = Store(tmp_path)
        made = []

        def compute():
            made.append(1)
            return model.run(outputs=["output"])

        first = store.derived(model, "fit", compute, setup="a")
        again = store.derived(model, "fit", compute, setup="a")
        assert len(made) == 1 and store.hits == 1
        assert float(again["output"].sel(time=2030)) == pytest.approx(
            float(first["output"].sel(time=2030)), rel=1e-15
        )
        store.derived(model, "fit", compute, setup="b")  # another setup file: computed again
        assert len(made) == 2
