"""User-facing strings in Vietnamese and English.

One catalogue per language, made of the YAML files in ``locales/<lang>/``
(one file per feature, the same file names and keys in every language);
:func:`text` looks a key up and formats it.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import yaml

__all__ = ["LANGUAGES", "catalogue", "number", "text"]

LANGUAGES = ("vi", "en")
#: Babel locale of each language (vi: 1.729,4; en: 1,729.4).
LOCALES = {"vi": "vi_VN", "en": "en_GB"}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The catalogue of ``lang`` (``vi`` or ``en``) as a flat mapping."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    folder = resources.files("hatinh_sd").joinpath("locales", lang)
    out: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for key, value in data.items():
            if str(key) in out:
                raise ValueError(f"locales/{lang}/{entry.name}: key {key!r} defined twice")
            out[str(key)] = str(value)
    return out


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``fields``."""
    return catalogue(lang)[key].format(**fields)


def number(
    value: float | None, lang: str = "en", *, digits: int | None = None, significant: int = 4
) -> str:
    """``value`` written as ``lang`` writes numbers (Babel: ``7,22`` and ``1.729,4`` in vi).

    ``digits`` fixes the number of decimals; otherwise the value is rounded to
    ``significant`` significant digits (trailing zeros dropped). NaN, infinity
    and ``None`` are a dash.
    """
    from babel.numbers import format_decimal

    if value is None or not math.isfinite(float(value)):
        return "–"
    value = float(value)
    if digits is None:
        magnitude = math.floor(math.log10(abs(value))) if value else 0
        digits = max(0, significant - 1 - magnitude)
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
    else:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern, locale=LOCALES[lang])
