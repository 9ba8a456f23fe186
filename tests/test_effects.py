"""Effects are honest: every effect of an index on productivity, investment, FDI or
migration uses one saturating form that equals 1 at its reference, is monotone, stays
below its stated asymptote, and has a local elasticity at the reference inside a range
cited in model/README.md (generated from the .mdl)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from hatinh_sd.data import load_sources
from hatinh_sd.model import repo_root
from hatinh_sd.modeldoc import effect_functions, render_effects

INDEX = np.logspace(-2, 2, 401)


@pytest.fixture(scope="module")
def effects(model):
    found = effect_functions(model)
    assert len(found) >= 12
    return found


def _corners(model, f):
    """The default and every corner of the elasticity and asymptote ranges."""
    out = [(model.defaults[f.elasticity], model.defaults[f.asymptote])]
    e, a = model.parameters.get(f.elasticity), model.parameters.get(f.asymptote)
    es = [e.low, e.high] if e else [model.defaults[f.elasticity]]
    ms = [a.low, a.high] if a else [model.defaults[f.asymptote]]
    return out + list(itertools.product(es, ms))


def test_effects_equal_one_at_the_reference_monotone_and_bounded(model, effects):
    for f in effects:
        for e, m in _corners(model, f):
            assert m > 1, f.name
            assert f(1.0, e, m) == pytest.approx(1.0, abs=1e-12), f.name
            y = f(INDEX, e, m)
            assert np.all(np.diff(y) >= -1e-12), f"{f.name} not monotone (e={e}, M={m})"
            assert np.all(y < m), f"{f.name} above its asymptote {m}"
            if e > 0:
                assert np.all(np.diff(y) > 0), f.name
                assert f(1e60, e, m) == pytest.approx(m, rel=1e-2), f.name
            # local elasticity at the reference is the stated elasticity
            h = 1e-6
            elasticity = (np.log(f(1 + h, e, m)) - np.log(f(1 - h, e, m))) / (
                np.log(1 + h) - np.log(1 - h)
            )
            assert elasticity == pytest.approx(e, abs=1e-6), f.name


def test_effect_variables_follow_the_form_in_a_run(model, baseline, effects):
    """The parse of the .mdl matches what PySD computes."""
    for f in effects:
        got = baseline[model.py_name(f.name)].values
        index = baseline[model.py_name(f.index)].values
        expected = f(index, model.defaults[f.elasticity], model.defaults[f.asymptote])
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f.name)
        assert got[0] == pytest.approx(1.0, abs=1e-9), f"{f.name} is not 1 in 2010"


def test_elasticities_have_cited_ranges(model, effects):
    keys = set(load_sources()["key"])
    for f in effects:
        p = model.parameters[f.elasticity]
        assert p.low <= model.defaults[f.elasticity] <= p.high
        cited = re.findall(r"source: ([A-Za-z0-9_-]+)", p.comment)
        assert cited, f"the elasticity of {f.name} cites no source"
        assert set(cited) <= keys, f"{f.name}: unknown source in {cited}"


def test_readme_effects_table_is_current(model):
    text = (repo_root() / "model" / "README.md").read_text(encoding="utf-8")
    inside = text.split("<!-- effects:start -->")[1].split("<!-- effects:end -->")[0]
    assert inside.strip() == render_effects(model).strip(), "run: hatinh-sd docs"
