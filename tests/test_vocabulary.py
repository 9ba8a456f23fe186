"""The Vietnamese of the model (model/translation_vi.yaml) is complete and current."""

from __future__ import annotations

from hatinh_sd import modeldoc, vocabulary
from hatinh_sd.modeldoc import register_constants


def test_every_name_unit_note_and_limitation_has_its_vietnamese(model):
    problems = modeldoc.translation_problems(model)
    assert problems == [], "\n".join(problems[:20])


def test_labels_units_and_notes(model):
    assert vocabulary.label("FDI incentives", "en") == "FDI incentives"
    assert vocabulary.label("FDI incentives", "vi") != "FDI incentives"
    assert vocabulary.unit("bnVND/(kperson*Year)", "vi") == "triệu đồng/người/năm"
    assert vocabulary.unit("kperson", "vi") == "nghìn người"
    assert vocabulary.unit("bnVND/(kperson*Year)", "en") == "million VND per person per year"
    name, comment = register_constants(model)[0]
    assert vocabulary.note(name, comment, "en") == comment
    assert vocabulary.note(name, comment, "vi")
    # a changed English comment makes its translation stale: not shown, and reported
    assert vocabulary.note(name, comment + " (revised)", "vi") is None
    assert vocabulary.digest("a  b\nc") == vocabulary.digest("a b c")


def test_a_stale_note_is_reported(model, monkeypatch):
    name, comment = register_constants(model)[0]
    doc = dict(vocabulary.translations())
    names = dict(doc["names"])
    names[name] = {**names[name], "of": "000000000000"}
    doc["names"] = names
    monkeypatch.setattr(vocabulary, "translations", lambda path=None: doc)
    problems = modeldoc.translation_problems(model)
    assert problems == [f"the note of '{name}' is untranslated or translates an older comment"]
    assert vocabulary.note(name, comment, "vi") is None


def test_limitations_in_both_languages():
    en, vi = vocabulary.limitations("en"), vocabulary.limitations("vi")
    assert len(en) == len(vi) >= 10
    assert [len(s) for _, s in en] == [len(s) for _, s in vi]
    assert en[0][0] != vi[0][0]
