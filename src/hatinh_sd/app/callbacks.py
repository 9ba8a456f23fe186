"""Dash callbacks of the explorer: thin wrappers around :class:`~hatinh_sd.app.explorer.Explorer`.

Every callback validates what it receives; bad input (a lever value outside
its range, a malformed uploaded scenario) is shown as a message in the page
and the app keeps serving. A request the page itself never sends (an unknown
language, lever or component id, a value of the wrong type) is answered with
HTTP 400, not a server error.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dash import ALL, Dash, Input, Output, Patch, State, ctx, dcc, html, no_update
from werkzeug.exceptions import BadRequest

from hatinh_sd.app.explorer import Explorer, summary_json
from hatinh_sd.app.logic import (
    BAND_TRACES,
    CHART_YEARS,
    CURRENT_TRACE,
    band_values,
    charts_figure,
    trace_index,
)
from hatinh_sd.errors import HatinhInputError, short_repr
from hatinh_sd.i18n import LANGUAGES, text
from hatinh_sd.targets import plan_targets

__all__ = [
    "band_patch",
    "effects_outputs",
    "load_outputs",
    "message_of",
    "message_view",
    "only_changed",
    "register_callbacks",
    "update_outputs",
]

LEVERS = {"type": "lever", "kind": ALL, "name": ALL}
#: The levers shown as sliders (their marks are numbers written in the language).
SLIDERS = {"type": "lever", "kind": "slider", "name": ALL}

#: The parts of the page the main callback writes besides the charts and the message, in
#: its order of outputs: :func:`update_outputs`'s, the costs panel and the lever-effects card.
SHOWN = (
    "scorecard",
    "scorecard-summary",
    "run-summary",
    "run-status",
    "bands-note",
    "costs",
    "effects",
)

#: Media type of an Excel workbook.
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _if_changed(value: Any, before: Any) -> Any:
    """``value``, or ``no_update`` when it equals ``before`` (nothing to send)."""
    return no_update if value == before else value


def _bad_request(what: str, value: object) -> BadRequest:
    return BadRequest(f"{what}: {short_repr(value)}")


def _language(lang: object) -> str:
    """``lang`` if the page offers it; else HTTP 400."""
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise _bad_request(f"a language is one of {', '.join(LANGUAGES)}, not", lang)
    return lang


def _optional(value: object, kind: type, what: str) -> Any:
    """``value`` if it is ``None`` or of ``kind``; else HTTP 400."""
    if value is not None and not isinstance(value, kind):
        raise _bad_request(f"{what} of the wrong type", value)
    return value


def _values(entries: object, explorer: Explorer) -> dict[str, object]:
    """Lever name -> raw value from a pattern-matching input's entries; an entry that is not
    one of the page's levers is HTTP 400 (the values themselves are checked by the explorer,
    which shows a message)."""
    if not isinstance(entries, list):
        raise _bad_request("lever values are a list, not", entries)
    out: dict[str, object] = {}
    for e in entries:
        ident = e.get("id") if isinstance(e, dict) else None
        name = ident.get("name") if isinstance(ident, dict) else None
        if not isinstance(name, str) or name not in explorer.by_name:
            raise _bad_request("not a lever of the page", ident if ident is not None else e)
        out[name] = e.get("value")
    return out


def register_callbacks(app: Dash, explorer: Explorer) -> None:
    """Attach the explorer's callbacks to ``app``."""

    @app.callback(
        Output({"type": "i18n", "key": ALL, "slot": ALL}, "children"),
        Output({"type": "i18n-group", "group": ALL}, "children"),
        Output({"type": "i18n-range", "name": ALL}, "children"),
        Output({"type": "i18n-lever", "name": ALL}, "children"),
        Output("scenario-choice", "options"),
        Output("scenario-choice", "placeholder"),
        Output("uncertainty", "options"),
        Output(SLIDERS, "marks"),
        Output("scenario-message", "children", allow_duplicate=True),
        Input("lang", "value"),
        State("scenario-message", "children"),
        prevent_initial_call=True,
    )
    def switch_language(lang, message):
        from hatinh_sd.app.layout import group_title, range_text, slider_marks

        lang = _language(lang)
        keys, groups, ranges, levers = (o for o in ctx.outputs_list[:4])
        sliders = ctx.outputs_list[7]
        try:  # the ids of the outputs are the page's own unless a client made them up
            page = (
                [text(o["id"]["key"], lang) for o in keys],
                [group_title(explorer.catalogue, o["id"]["group"], lang) for o in groups],
                [range_text(explorer.by_name[o["id"]["name"]], lang) for o in ranges],
                [explorer.by_name[o["id"]["name"]].label[lang] for o in levers],
                [slider_marks(explorer.by_name[o["id"]["name"]], lang) for o in sliders],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise _bad_request("an output that is not on the page", exc.args[:1]) from None
        try:
            shown = message_view(explorer, message_of(message), lang)
        except (KeyError, TypeError, ValueError, AttributeError):  # not a message of the page
            shown = message_view(explorer, None, lang)
        return (
            *page[:4],
            explorer.scenario_options(lang),
            text("app.scenario.placeholder", lang),
            [{"label": text("app.uncertainty.toggle", lang), "value": "on"}],
            page[4],
            shown,
        )

    @app.callback(
        Output("charts", "figure"),
        *(Output(name, "children") for name in SHOWN),
        Output("run-message", "children"),
        Output("shown", "data"),
        Input(LEVERS, "value"),
        Input("lang", "value"),
        Input("effects-target", "value"),
        Input("uncertainty", "value"),
        State("shown", "data"),
    )
    def update(_values_list, lang, choice, uncertainty, shown):
        # One callback for everything a change shows: the run, its band, scorecard, costs
        # and the lever-effects card, so that the browser sends one request and redraws the
        # page once per change (each further callback on the levers cost the browser about
        # 0.1 s more; see benchmarks/app_speed.py). Of the page's parts only those that
        # changed are sent (only_changed).
        from hatinh_sd.app.layout import costs_table

        lang = _language(lang)
        choice = _optional(choice, str, "the lever-effects choice")
        before, shown = _optional(shown, dict, "the page's record") or {}, dict(shown or {})
        triggered = list(ctx.triggered_prop_ids.values())
        values = _values(ctx.inputs_list[0], explorer)
        effects, key = effects_outputs(explorer, values, lang, choice, shown.get("effects"))
        if key is not no_update:
            shown["effects"] = key
        if triggered == ["effects-target"]:  # another target and year: the card alone
            parts = dict.fromkeys(SHOWN, no_update)
            parts["effects"] = effects
            return no_update, *parts.values(), no_update, _if_changed(shown, before)
        patch = bool(triggered) and all(
            i == "uncertainty" or (isinstance(i, dict) and i.get("type") == "lever")
            for i in triggered
        )
        figure, *page, message = update_outputs(
            explorer,
            values,
            lang,
            bool(uncertainty),
            patch=patch,
            toggled="uncertainty" in triggered,
        )
        # the same (cached) run as the charts: costs live with every change; settings the
        # model rejects show the error and change nothing else
        costs = no_update if page[0] is no_update else costs_table(explorer.costs(values), lang)
        shows: list[Any] = [*page, costs, effects]
        parts = dict(zip(SHOWN, shows, strict=True))
        sent = only_changed(parts, shown, skip=("effects",))
        return figure, *sent.values(), message, _if_changed(shown, before)

    @app.callback(
        Output(LEVERS, "value"),
        Output("scenario-message", "children"),
        Input("scenario-load", "n_clicks"),
        Input("scenario-upload", "contents"),
        Input("reset", "n_clicks"),
        State("scenario-choice", "value"),
        State("scenario-upload", "filename"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def load(_load, contents, _reset, choice, filename, lang):
        lang = _language(lang)
        contents = _optional(contents, str, "an upload")
        choice = _optional(choice, str, "a scenario choice")
        filename = _optional(filename, str, "a file name")
        names = list(_values(ctx.outputs_list[0], explorer))
        return load_outputs(explorer, ctx.triggered_id, names, choice, contents, filename, lang)

    @app.callback(
        Output("scenario-download", "data"),
        Output("scenario-message", "children", allow_duplicate=True),
        Input("scenario-save", "n_clicks"),
        State(LEVERS, "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def save(_n, _values_list, lang):
        try:
            body = explorer.scenario_yaml(_values(ctx.states_list[0], explorer), _language(lang))
        except HatinhInputError as exc:
            return no_update, message_view(explorer, {"error": str(exc)}, lang)
        return (
            {"content": body, "filename": "scenario_from_app.yaml", "type": "text/yaml"},
            message_view(explorer, {"key": "app.scenario.saved"}, lang),
        )

    @app.callback(
        Output("csv-download", "data"),
        Output("run-message", "children", allow_duplicate=True),
        Input("csv-button", "n_clicks"),
        State(LEVERS, "value"),
        prevent_initial_call=True,
    )
    def download_csv(_n, _values_list):
        try:
            body = explorer.csv(_values(ctx.states_list[0], explorer))
        except HatinhInputError as exc:
            return no_update, str(exc)
        return {"content": body, "filename": "hatinh_sd_app_run.csv", "type": "text/csv"}, ""

    @app.callback(
        Output("xlsx-download", "data"),
        Output("run-message", "children", allow_duplicate=True),
        Input("xlsx-button", "n_clicks"),
        State(LEVERS, "value"),
        State("lang", "value"),
        prevent_initial_call=True,
    )
    def download_xlsx(_n, _values_list, lang):
        try:
            body = explorer.xlsx(_values(ctx.states_list[0], explorer), _language(lang))
        except HatinhInputError as exc:
            return no_update, str(exc)
        return dcc.send_bytes(body, f"hatinh_sd_app_run_{lang}.xlsx", type=XLSX_TYPE), ""


def update_outputs(
    explorer: Explorer,
    values: dict[str, object],
    lang: str,
    show_bands: bool,
    *,
    patch: bool = False,
    toggled: bool = False,
):
    """What the page shows for lever values ``values`` (name -> raw value).

    Returns the charts' figure (:func:`logic.charts_figure`), the scorecard
    (:func:`hatinh_sd.app.layout.scorecard_markup`), its summary line, the hidden run
    summary (JSON), the status line, the band's note and the error message. With
    ``show_bands`` the band of these settings is computed with the run
    (:meth:`Explorer.view`). With ``patch`` (only levers or the band toggle changed) the
    figure is a :class:`dash.Patch` replacing the current-settings lines, and the band's
    traces when a band is shown or was just switched off (``toggled``); otherwise the
    whole figure. Settings the model rejects change nothing but the error message.
    """
    from hatinh_sd.app.layout import scorecard_markup

    try:
        view = explorer.view(values, lang, show_bands, figures=not patch)
    except HatinhInputError as exc:
        message = text("app.error.rejected", lang, reason=str(exc))
        return no_update, no_update, no_update, no_update, no_update, no_update, message
    met = int(view.card["met"].sum())
    summary = text(
        "app.scorecard.summary",
        lang,
        met=met,
        total=len(view.card),
        met_baseline=int(view.card["met_baseline"].sum()),
    )
    status = text(
        "app.status.ok",
        lang,
        changed=len(view.params),
        engine=text(f"app.engine.{explorer.engine}", lang),
    )
    figure: dict | Patch
    if patch:
        figure = Patch()
        for k, y in enumerate(view.current):
            figure["data"][trace_index(k, CURRENT_TRACE)]["y"] = y
        if show_bands or toggled:
            band_patch(figure, explorer, view.bands, lang)
    else:
        figure = charts_figure(view.figures, lang)
    return (
        figure,
        scorecard_markup(view.card, lang),
        summary,
        summary_json(view.summary),
        status,
        view.bands_note,
        "",
    )


def shown_key(value: Any) -> str:
    """A digest of what an output shows (a string, number or Dash component tree)."""

    def plain(obj: Any) -> Any:  # components as Dash sends them; numpy values as lists
        return obj.to_plotly_json() if hasattr(obj, "to_plotly_json") else obj.tolist()

    text = json.dumps(value, default=plain, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def only_changed(
    parts: dict[str, Any], shown: dict[str, str], *, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``parts`` (output -> value) with ``no_update`` for each value the page shows
    already, by the digests (:func:`shown_key`) in ``shown``, which is brought up to date
    in place. Outputs in ``skip`` pass as they are (their key is kept elsewhere).

    The browser redraws only what changed: each output it is sent costs it time (about
    35 ms for the six text parts a lever move leaves as they were, measured with
    ``benchmarks/app_speed.py``'s page on the 2-core machine), whatever its content.
    """
    out = {}
    for name, value in parts.items():
        if value is no_update or name in skip:
            out[name] = value
            continue
        key = shown_key(value)
        out[name] = no_update if shown.get(name) == key else value
        shown[name] = key
    return out


def effects_outputs(
    explorer: Explorer, values: dict[str, object], lang: str, choice: str, shown: str | None
):
    """The lever-effects card for lever values ``values`` and target and year ``choice``, and
    the key of what it shows; ``no_update`` for both when that key is ``shown`` already. An
    unknown choice is shown as an error in the card; settings the model rejects leave it as
    it is (the main callback shows the error)."""
    from hatinh_sd.app.layout import effects_table

    try:
        view = explorer.effects(values, choice)
    except HatinhInputError as exc:
        if exc.key == "effects":
            return html.P(str(exc), className="hsd-error"), None
        return no_update, no_update
    key = json.dumps(
        [lang, choice, str(view.folder), view.matches, [str(p) for p in view.stale], view.stamp]
    )
    if key == shown:
        return no_update, no_update
    return effects_table(view, explorer, lang), key


def band_patch(figure: Patch, explorer: Explorer, bands, lang: str) -> Patch:
    """Set the band's traces (:data:`logic.BAND_TRACES`) of every chart in ``figure`` to
    ``bands`` (:class:`hatinh_sd.app.explorer.Bands`; ``None`` empties them)."""
    years = list(range(CHART_YEARS[0], CHART_YEARS[1] + 1))
    label = (
        text("app.uncertainty.band", lang, low=f"{bands.low:g}", high=f"{bands.high:g}")
        if bands
        else ""
    )
    for k, tid in enumerate(plan_targets()):
        low, high = band_values(explorer.indicator(tid), years, bands.variables if bands else None)
        lower, upper = (trace_index(k, b) for b in BAND_TRACES)
        figure["data"][lower]["x"] = low["x"]
        figure["data"][lower]["y"] = low["y"]
        figure["data"][upper]["x"] = high["x"]
        figure["data"][upper]["y"] = high["y"]
        figure["data"][upper]["name"] = label if high["x"] else ""
    return figure


def load_outputs(
    explorer: Explorer,
    trigger: str | None,
    names: list[str],
    choice: str | None,
    contents: str | None,
    filename: str | None,
    lang: str,
):
    """Lever values (in the order of ``names``) and a message after load, upload or reset."""
    message: dict | None
    try:
        if trigger == "reset":
            values, message = explorer.default_values(), None
        elif trigger == "scenario-upload":
            values = explorer.upload_values(contents or "", filename or "")
            message = {"key": "app.scenario.loaded", "fields": {"name": filename}}
        else:
            if not choice:
                message = {"key": "app.scenario.none", "error": True}
                return [no_update] * len(names), message_view(explorer, message, lang)
            values = explorer.scenario_values(choice)
            message = {"key": "app.scenario.loaded", "scenario": choice}
    except HatinhInputError as exc:
        return [no_update] * len(names), message_view(explorer, {"error": str(exc)}, lang)
    return [values[n] for n in names], message_view(explorer, message, lang)


def message_view(explorer: Explorer, message: dict | None, lang: str) -> html.Span:
    """The scenario message ``message`` in ``lang``, carrying ``message`` (``data-message``)
    so that a language switch can show it again (:func:`message_of`).

    ``message`` holds a catalogue ``key`` with its ``fields`` (a ``scenario``
    is shown by its title) and ``error: true`` for an error; or ``error``,
    the text of a rejected input (from the checks, in English); ``None`` for
    no message.
    """
    if not message:
        return html.Span("", className="hsd-info")
    data: dict[str, Any] = {"data-message": json.dumps(message, ensure_ascii=False)}
    if isinstance(message.get("error"), str):
        return html.Span(message["error"], className="hsd-error", **data)
    fields = dict(message.get("fields") or {})
    if message.get("scenario"):
        fields["name"] = explorer.scenario_title(message["scenario"], lang)
    return html.Span(
        text(message["key"], lang, **fields),
        className="hsd-error" if message.get("error") else "hsd-info",
        **data,
    )


def message_of(children: object) -> dict | None:
    """The message carried by a message element (:func:`message_view`; a component or,
    from the page, its JSON), or ``None``."""
    if hasattr(children, "to_plotly_json"):
        children = children.to_plotly_json()
    if not isinstance(children, dict):
        return None
    try:
        message = json.loads(children.get("props", {}).get("data-message") or "null")
    except (TypeError, ValueError):
        return None
    return message if isinstance(message, dict) else None
