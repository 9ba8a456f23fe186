"""HTML from Jinja2 templates (``hatinh_sd/templates``), escaped by default.

The report and the validation dossier write their pages through these templates: the
document around a page, tables and the report's outline. A value that is HTML already (a
section, a cell with its own ``<td>``) is passed as :class:`markupsafe.Markup`; anything else
is escaped.

>>> render("table.html", cls="t", header=["a < b"], rows=[["1 & 2"]])
"<table class='t'><thead><tr><th>a &lt; b</th></tr></thead><tbody><tr><td>1 &amp; 2</td></tr></tbody></table>"
"""

from __future__ import annotations

from functools import cache
from typing import Any

from markupsafe import Markup

__all__ = ["Markup", "render"]


@cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("hatinh_sd", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing value is an error, not a blank
        keep_trailing_newline=False,
    )


def render(template: str, **context: Any) -> str:
    """The template ``template`` (a file of ``hatinh_sd/templates``) rendered with
    ``context``."""
    return str(_environment().get_template(template).render(**context))
