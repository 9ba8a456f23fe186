"""What English is left in a Vietnamese output: used by the report, explorer, Excel and CLI tests.

:func:`english_left` returns the English found in a text: phrases of the English
catalogue (``locales/en``) that the Vietnamese one does not share, scenario ids,
lever ids and the model's multi-word names, Vensim unit strings, and common
English words. Proper names, acronyms and source keys are allowed
(:data:`ALLOWED`); code (``<code>``, commands and paths) is not text and is
left out by :func:`visible_text`.
"""

from __future__ import annotations

import base64
import re
from functools import cache

from hatinh_sd.i18n import catalogue
from hatinh_sd.model import load_model, repo_root

#: Reviewed allow-list: proper names, acronyms and loanwords Vietnamese planning texts use.
ALLOWED = {
    "GRDP", "GDP", "FDI", "ICOR", "ODA", "TFP", "PPP", "BOT", "MAPE", "RMSE", "Theil",
    "Monte Carlo", "Formosa", "Vũng Áng", "PySD", "SHA-256", "GSO", "CO2", "MW", "GWh",
    "kWh", "USD", "VND", "Cobb-Douglas", "Lewis", "Harris-Todaro", "putty-clay",
    "logistics", "Vensim", "Graphviz", "T21", "Earth4All", "VinES", "Vinhomes", "VinFast",
    "Mitsubishi", "KEPCO", "PetroVietnam", "COVID-19", "COVID",
}  # fmt: skip

#: English words that never spell Vietnamese (whole words, case-sensitive).
ENGLISH_WORDS = (
    "the", "of", "and", "with", "for", "from", "per", "not", "are", "is", "this",
    "that", "which", "by", "or", "model", "rate", "share", "value", "year", "years",
    "The", "missed", "met", "exceeded", "baseline", "scenario", "lever", "target",
    "uncertain", "calibrated", "fixed", "assumption", "source",
)  # fmt: skip


@cache
def _forbidden() -> tuple[list[str], list[str]]:
    """(phrases, unit tokens) that must not appear in Vietnamese text."""
    en, vi = catalogue("en"), catalogue("vi")
    vi_values = set(vi.values())
    phrases: set[str] = set()
    for key, value in en.items():
        if value in vi_values or value == vi.get(key):
            continue
        for fragment in re.split(r"\{[^}]*\}", value):
            fragment = fragment.strip(" .,:;()[]'\"-")
            if len(fragment) >= 12 and re.search(r"[a-z]{3,} [a-z]{2,}", fragment):
                phrases.add(fragment)
    model = load_model()
    names = [str(n) for n in model.doc["Real Name"] if len(str(n).split()) >= 2]
    phrases.update(n for n in names if n not in ALLOWED)
    from hatinh_sd.scenarios import load_catalogue

    levers = load_catalogue(model=model)  # the levers' and task groups' English names
    labelled = [*levers.levers.values(), *levers.timing_labels.values()]
    labels = [(e.label if hasattr(e, "label") else e) for e in labelled]
    labels += [g.short for g in levers.task_groups.values()]
    phrases.update(b.en for b in labels if b.en != b.vi and len(b.en) >= 12)
    scenario_ids = [
        p.stem for p in (repo_root() / "scenarios").glob("*.yaml") if p.stem != "levers"
    ]
    phrases.update(scenario_ids)
    units = [
        u
        for u in model.doc["Units"].dropna().astype(str).unique()
        if re.search(r"[A-Za-z]{2,}", u) and u not in ALLOWED and u not in ("ha", "MW", "h")
    ]
    return sorted(phrases, key=len, reverse=True), sorted(units, key=len, reverse=True)


def english_left(text: str) -> list[str]:
    """The English in ``text`` (empty when none)."""
    for allowed in sorted(ALLOWED, key=len, reverse=True):
        text = text.replace(allowed, " ")
    phrases, units = _forbidden()
    found = []
    for p in phrases:
        if re.search(rf"(?<![\w/]){re.escape(p)}(?![\w/])", text):
            found.append(p)
    for u in units:
        if re.search(rf"(?<![\w/]){re.escape(u)}(?![\w/])", text):
            found.append(u)
    text = re.sub(r"[\w.-]*(?:/[\w.-]+)+", " ", text)  # paths (model/hatinh.mdl, outputs/effects/x)
    for w in ENGLISH_WORDS:
        if re.search(rf"(?<![\w'-]){w}(?![\w'-])", text):
            found.append(w)
    return found


def visible_text(doc: str) -> str:
    """The text a reader sees in an HTML document: text nodes outside ``<code>``, ``<style>``
    and ``<script>``, image descriptions, and the text of embedded SVG images."""
    import lxml.etree
    import lxml.html

    tree = lxml.html.fromstring(doc)
    for bad in tree.xpath("//code|//style|//script"):
        bad.drop_tree()
    parts = [" ".join(tree.text_content().split())]
    for img in tree.iter("img"):
        parts.append(img.get("alt") or "")
        src = img.get("src") or ""
        if src.startswith("data:image/svg+xml;base64,"):
            svg = lxml.etree.fromstring(base64.b64decode(src.split(",", 1)[1]))
            texts = svg.xpath("//*[local-name()='text']")
            parts.append(" ".join(" ".join((t.text or "").split()) for t in texts))
    return "\n".join(parts)
