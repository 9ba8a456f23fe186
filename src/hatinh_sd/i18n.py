"""User-facing strings in Vietnamese and English.

One catalogue per language (``locales/<lang>.yaml``) with identical keys;
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
    raw = (
        resources.files("hatinh_sd").joinpath("locales", f"{lang}.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(raw)
    return {str(k): str(v) for k, v in data.items()}


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``fields``."""
    return catalogue(lang)[key].format(**fields)
