"""The model's names, units, notes and limitations in the reader's language.

The model is written in English: its names, units and comments are in
``model/hatinh.mdl`` and its known limitations in ``model/README.md``. The
Vietnamese lives in one reviewed file, ``model/translation_vi.yaml``:

``units``
    every unit string of the ``.mdl`` in planning terms, in both languages
    (``bnVND/(kperson*Year)`` is "triệu đồng/người/năm", "million VND per person
    per year");
``names``
    a Vietnamese label for every variable and constant, and for each constant
    of the assumptions register the translation of its comment (``note``) with
    ``of``, the first 12 hex digits of the SHA-256 of the English comment it
    translates: when the comment changes, the translation is *stale* and is not
    shown (the English is named as untranslated instead), and
    :func:`hatinh_sd.modeldoc.translation_problems` lists it;
``limitations``
    the ``## Known limitations`` bullets in Vietnamese, with ``of`` for the
    English section.

English labels are the model's own names. ``tests/test_vocabulary.py`` fails
on any name, unit or note without its Vietnamese.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from hatinh_sd.errors import HatinhInputError, read_text, read_yaml
from hatinh_sd.project import current_project

__all__ = [
    "digest",
    "label",
    "limitations",
    "note",
    "unit",
]


def digest(s: str) -> str:
    """First 12 hex digits of the SHA-256 of ``s`` (whitespace runs count as one space)."""
    return hashlib.sha256(" ".join(s.split()).encode("utf-8")).hexdigest()[:12]


def translations(path: Path | None = None) -> dict[str, Any]:
    """The Vietnamese of the model's names, units, notes and limitations: the active
    project's translation file (empty sections when it has none)."""
    path = path or current_project().translation
    if path is None:
        return {"units": {}, "names": {}, "limitations": {}}
    return _translations(path)


@cache
def _translations(path: Path) -> dict[str, Any]:
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not {"units", "names", "limitations"} <= set(doc):
        raise HatinhInputError("expected the sections units, names and limitations", path=path)
    return doc


def label(name: str, lang: str = "en") -> str:
    """The label of model name ``name`` in ``lang`` (English: the name itself)."""
    if lang == "en":
        return name
    entry = translations()["names"].get(name)
    if isinstance(entry, dict) and entry.get("vi"):
        return str(entry["vi"])
    return name


def note(name: str, comment: str, lang: str = "en") -> str | None:
    """The comment of constant ``name`` in ``lang``; ``None`` when its Vietnamese is stale
    (translated from another version of the comment) or missing."""
    if lang == "en":
        return comment
    entry = translations()["names"].get(name)
    if not isinstance(entry, dict) or "note" not in entry:
        return None
    if entry.get("of") != digest(comment):
        return None
    return str(entry["note"])


_UNIT_SPLIT = re.compile(r"([()*/])")


def unit(u: str, lang: str = "en") -> str:
    """A unit of the ``.mdl`` (or of ``model/data``) in planning terms."""
    u = str(u).strip()
    units = translations()["units"]
    entry = units.get(u)
    if isinstance(entry, dict) and lang in entry:
        return str(entry[lang])
    return u


def english_limitations(readme: Path | None = None) -> str:
    """The bullets under ``## Known limitations`` of the project's model README ("" without
    one)."""
    readme = readme or current_project().readme
    if readme is None:
        return ""
    doc = read_text(readme)
    m = re.search(r"^## Known limitations\s*$(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return m.group(1).strip() if m else ""


def limitations(lang: str = "en") -> list[tuple[str, list[str]]]:
    """The known limitations as (bullet, sub-bullets), in ``lang``.

    English from ``model/README.md``; Vietnamese from the translation file,
    unless it translates another version of the English (then English, so that
    nothing out of date is shown as current; :func:`problems` reports it).
    """
    english = english_limitations()
    text = english
    if lang != "en":
        lim = translations()["limitations"]
        if isinstance(lim, dict) and lim.get("of") == digest(english):
            text = str(lim.get("text", ""))
    items: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("- "):
            items.append((line[2:].strip(), []))
        elif re.match(r"\s+- ", line) and items:
            items[-1][1].append(line.strip()[2:])
    readme = current_project().readme
    if not items and readme is not None:
        raise HatinhInputError("no bullet list under '## Known limitations'", path=readme)
    return items
