"""The report as files to attach to a submission: PDF and Word (DOCX).

* :func:`html_to_pdf` prints the report's HTML with a headless Chromium (Debian's
  ``chromium`` package; ``HATINH_SD_CHROMIUM`` names another binary): A4, the
  report's print stylesheet, page numbers in the footer, the summary alone on
  the first page.
* :func:`html_to_docx` rebuilds the same content with python-docx: headings,
  paragraphs, lists, tables and images (SVG diagrams rasterised by resvg), A4
  pages with page numbers, a page break after the summary.

Both write atomically: a failure leaves any earlier file in place.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.results import atomic_file

__all__ = ["FORMATS", "find_chromium", "html_to_docx", "html_to_pdf"]

#: Formats of ``hatinh-sd report --format`` (HTML is always written).
FORMATS = ("html", "pdf", "docx")

_CHROMIUM = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")


def find_chromium() -> str:
    """The Chromium binary: ``HATINH_SD_CHROMIUM`` or the first of :data:`_CHROMIUM` on PATH."""
    named = os.environ.get("HATINH_SD_CHROMIUM")
    if named:
        if shutil.which(named) is None:
            raise HatinhInputError(
                f"'{named}' is not an executable; name a Chromium binary",
                key="HATINH_SD_CHROMIUM",
            )
        return named
    for exe in _CHROMIUM:
        if shutil.which(exe):
            return exe
    raise HatinhInputError(
        "a PDF needs Chromium, and none is on PATH (Debian: apt-get install chromium; "
        "or set HATINH_SD_CHROMIUM); --format html and docx need no browser",
        key="--format",
    )


def html_to_pdf(html_path: Path | str, pdf_path: Path | str, *, timeout: float = 300) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (A4, print stylesheet)."""
    exe = find_chromium()
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="hatinh-sd-chromium-") as profile:
        with atomic_file(pdf_path) as tmp:
            cmd = [
                exe,
                "--headless",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--no-pdf-header-footer",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={tmp}",
                html_path.as_uri(),
            ]
            if os.geteuid() == 0:  # Chromium's sandbox refuses to run as root
                cmd.insert(1, "--no-sandbox")
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise HatinhInputError(f"{exe} did not print the PDF within {timeout:g} s") from exc
            if done.returncode != 0 or tmp.stat().st_size == 0 or tmp.read_bytes()[:5] != b"%PDF-":
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise HatinhInputError(f"{exe} could not print {html_path.name}: {last}")
    return pdf_path


# ------------------------------------------------------------------ DOCX
def _image_png(src: str) -> bytes | None:
    """PNG bytes of a ``data:`` image (SVG rasterised), or ``None``."""
    if not src.startswith("data:"):
        return None
    head, _, data = src.partition(",")
    raw = base64.b64decode(data)
    if "image/png" in head:
        return raw
    if "image/svg+xml" in head:
        from hatinh_sd.diagram import _rasterise

        return _rasterise(raw, 96)
    return None


def _text(el: Any) -> str:
    """An element's text with ``<br>`` as a line break and whitespace runs as one space."""
    parts = []
    for node in el.iter():
        if node.tag == "br":
            parts.append("\n")
        if node.text and node.tag not in ("style", "script"):
            parts.append(node.text)
        if node is not el and node.tail:
            parts.append(node.tail)
    lines = "".join(parts).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


def _page_number(paragraph: Any) -> None:
    """A PAGE field in ``paragraph`` (Word fills it in)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    for kind, value in (("begin", None), ("instr", " PAGE "), ("separate", None), ("end", None)):
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = value
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _table(doc: Any, el: Any) -> None:
    from docx.shared import Pt

    rows = [r for r in el.iter("tr")]
    if not rows:
        return
    width = max(sum(int(c.get("colspan", 1)) for c in r if c.tag in ("td", "th")) for r in rows)
    table = doc.add_table(rows=0, cols=width)
    table.style = "Table Grid"
    small = "small" in (el.get("class") or "") or width > 6
    for r in rows:
        cells = table.add_row().cells
        j = 0
        for c in r:
            if c.tag not in ("td", "th"):
                continue
            span = int(c.get("colspan", 1))
            cell = cells[j]
            if span > 1:
                cell = cell.merge(cells[min(j + span, width) - 1])
            cell.text = _text(c)
            for p in cell.paragraphs:
                for run in p.runs:
                    run.font.size = Pt(6.5 if small else 8)
                    run.bold = c.tag == "th" or None
            j += span
    doc.add_paragraph()


def _walk(doc: Any, el: Any, images_width: Any) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    cls = el.get("class") or ""
    if tag in ("style", "script", "nav") or "screen-only" in cls:
        return
    if tag == "h1":
        doc.add_heading(_text(el), level=0)
    elif tag in ("h2", "h3", "h4"):
        doc.add_heading(_text(el), level={"h2": 1, "h3": 2, "h4": 3}[tag])
    elif tag == "p":
        p = doc.add_paragraph(_text(el))
        if "disclaimer" in cls:
            for run in p.runs:
                run.bold = True
    elif tag in ("ul", "ol"):
        style = "List Number" if tag == "ol" else "List Bullet"
        for li in el:
            if li.tag != "li":
                continue
            nested = [c for c in li if c.tag in ("ul", "ol")]
            for c in nested:
                li.remove(c)
            doc.add_paragraph(_text(li), style=style)
            for c in nested:
                for sub in c:
                    if sub.tag == "li":
                        doc.add_paragraph(_text(sub), style=f"{style} 2")
    elif tag == "table":
        _table(doc, el)
    elif tag == "img":
        png = _image_png(el.get("src", ""))
        if png:
            doc.add_picture(io.BytesIO(png), width=images_width)
    elif tag == "summary":
        p = doc.add_paragraph()
        p.add_run(_text(el)).bold = True
    elif tag == "hr":
        return
    else:
        for child in el:
            _walk(doc, child, images_width)
        if tag == "section" and el.get("id") == "summary":
            doc.add_page_break()


def html_to_docx(html_doc: str, docx_path: Path | str) -> Path:
    """The report's HTML as a Word document (A4, page numbers) at ``docx_path``."""
    import docx
    import lxml.html
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Mm

    tree = lxml.html.fromstring(html_doc)
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Mm(15))
    section.top_margin = section.bottom_margin = Mm(15)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _page_number(footer)
    document.core_properties.title = tree.findtext(".//title") or ""
    document.core_properties.language = tree.get("lang", "")
    body = tree.find("body")
    for child in body if body is not None else tree:
        _walk(document, child, Cm(17))
    docx_path = Path(docx_path)
    with atomic_file(docx_path) as tmp:
        document.save(str(tmp))
    return docx_path
