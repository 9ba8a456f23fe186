"""Interactive scenario explorer (``hatinh-sd app``): a Dash page over the model.

Levers (from :meth:`hatinh_sd.model.Model.levers`, grouped by the Action
Programme's task groups) drive real model runs; charts show the target
indicators against the baseline, observed history and the 2030 targets, and a
scorecard of T01-T12 follows the levers. See :func:`create_app`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hatinh_sd.app.explorer import MAX_UPLOAD_BYTES, Explorer

__all__ = ["Explorer", "create_app"]


def create_app(
    lang: str = "en",
    explorer: Explorer | None = None,
    outputs: Path | str | None = None,
    engine: str = "compiled",
):
    """Build the Dash application.

    Parameters
    ----------
    lang : str
        Starting language (``vi`` or ``en``); switchable in the page.
    explorer : Explorer, optional
        Shared state (model, baseline, run cache); a new one by default.
    outputs : path, optional
        Folder searched for precomputed uncertainty results.
    engine : {"compiled", "simlin", "pysd"}
        Engine of the page's runs for a new explorer (:class:`Explorer`): the model's compiled
        kernel or pysimlin once it agrees with PySD, or PySD alone.

    Returns
    -------
    dash.Dash
        Serve it with ``app.run(host=..., port=...)`` or mount ``app.server``.
    """
    from dash import Dash

    from hatinh_sd.app.callbacks import register_callbacks
    from hatinh_sd.app.layout import CSS, build_layout
    from hatinh_sd.errors import HatinhInputError
    from hatinh_sd.i18n import LANGUAGES, text

    if lang not in LANGUAGES:
        raise HatinhInputError(
            f"unknown language '{lang}'; choose one of {', '.join(LANGUAGES)}", key="lang"
        )
    explorer = explorer or Explorer(outputs=outputs, engine=engine)
    try:
        from hatinh_sd.scenarios import load_catalogue

        cat = load_catalogue(model=explorer.model)
        descriptions = {n: e.description.model_dump() for n, e in cat.levers.items()}
    except HatinhInputError:
        descriptions = {}  # tooltips only; the levers come from the model
    app = Dash(__name__, title=text("app.title", lang), assets_ignore=".*", serve_locally=True)
    # an upload is base64 in a JSON callback: about 4/3 of the file, plus the request
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES * 2
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    app.layout = build_layout(explorer, lang, descriptions)
    register_callbacks(app, explorer)
    app.explorer = explorer  # type: ignore[attr-defined]
    # draw the live bands' runs and load their engine while the page loads
    threading.Thread(target=explorer.live.warm, name="live-bands-warm", daemon=True).start()
    return app
