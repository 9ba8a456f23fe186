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
    """The string ``key`` in ``lang``, formatted with ``fields``.

    The active project's names fill ``{project_region}``, ``{project_title}``,
    ``{project_plan}`` and ``{project_model}`` (the ``.mdl`` relative to the project file),
    so that no message names one province.
    """
    template = catalogue(lang)[key]
    if "{project_" in template:
        from hatinh_sd.project import current_project

        p = current_project()
        model = p.model.relative_to(p.root) if p.model.is_relative_to(p.root) else p.model
        fields = {
            "project_region": p.region[lang],
            "project_title": p.title[lang],
            "project_plan": p.plan[lang],
            "project_model": model.as_posix(),
            **fields,
        }
    return template.format(**fields)


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
