"""User-facing strings in Vietnamese and English.

One catalogue per language, made of the YAML files in ``locales/<lang>/``
(one file per feature, the same file names and keys in every language);
:func:`text` looks a key up and formats it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

__all__ = ["LANGUAGES", "catalogue", "text"]

LANGUAGES = ("vi", "en")


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
