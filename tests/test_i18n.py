"""The Vietnamese and English catalogues have the same keys and real translations."""

from __future__ import annotations

from importlib import resources

from hatinh_sd.i18n import LANGUAGES, catalogue, text

#: Keys whose Vietnamese text may equal the English one (units, symbols, names).
SAME_IN_BOTH = {"unit.percent"}


def test_same_files_and_keys_in_every_language():
    files = {
        lang: sorted(
            e.name for e in resources.files("hatinh_sd").joinpath("locales", lang).iterdir()
        )
        for lang in LANGUAGES
    }
    assert files["vi"] == files["en"]
    assert set(catalogue("vi")) == set(catalogue("en"))


def test_vietnamese_is_translated():
    vi, en = catalogue("vi"), catalogue("en")
    untranslated = sorted(k for k in en if vi[k] == en[k] and k not in SAME_IN_BOTH)
    assert untranslated == []


def test_placeholders_match():
    import string

    vi, en = catalogue("vi"), catalogue("en")
    for key in en:
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        fields_vi = {f for _, f, _, _ in string.Formatter().parse(vi[key]) if f}
        assert fields_en == fields_vi, key


def test_text_formats():
    assert text("run.wrote", "vi", path="x") == "Đã ghi x"
