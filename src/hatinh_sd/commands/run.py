"""``hatinh-sd run``: run the model and print the target scorecard."""

from __future__ import annotations

import argparse
import re
import sys
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd

from hatinh_sd.errors import HatinhInputError, check_unique, short_repr
from hatinh_sd.i18n import number, text
from hatinh_sd.targets import target_label

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import xarray as xr

    from hatinh_sd.scenarios import Scenario

#: A plain decimal number (ASCII digits; no '_', no inf/nan, no full-width digits).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def parse_set(items: list[str], option: str = "--set") -> dict[str, float]:
    """Parse ``NAME=VALUE`` overrides given on the command line (option ``option``)."""
    params: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise HatinhInputError(
                f"{short_repr(item)} is not NAME=VALUE", path=option, key=short_repr(item, 60)
            )
        if not _NUMBER.fullmatch(value.strip()):
            raise HatinhInputError(
                f"value {short_repr(value, 60)} of '{name.strip()}' is not a plain number",
                path=option,
                key=name.strip(),
            )
        if name.strip() in params:
            raise HatinhInputError("given twice", path=option, key=name.strip())
        params[name.strip()] = float(value)
    return params


def format_scorecard(card: pd.DataFrame, lang: str = "en") -> str:
    """Render a scorecard (:func:`hatinh_sd.targets.scorecard`) as a text table in ``lang``."""
    year = int(card["year"].iloc[0])
    extra = [c for c in card.columns if c.startswith("value_")][0]
    extra_year = extra.split("_", 1)[1]
    head = (
        f"{text('scorecard.id', lang):<4} {text('scorecard.indicator', lang):<58} "
        f"{text('scorecard.value', lang, year=year):>12} {text('scorecard.value', lang, year=extra_year):>12} "
        f"{text('scorecard.target', lang):>12}  {text('scorecard.status', lang)}"
    )
    lines = [text("scorecard.title", lang), head, "-" * len(head)]
    for _, r in card.iterrows():
        label = target_label(r["id"], lang)
        status = text(f"scorecard.{r['status']}", lang)
        lines.append(
            f"{r['id']:<4} {label[:58]:<58} {number(r['value'], lang, digits=2):>12} "
            f"{number(r[extra], lang, digits=2):>12} "
            f"{r['comparator'] + ' ' + number(r['target'], lang):>12}  {status}"
        )
    lines.append("")
    if "T05" in set(card["id"]):
        lines.append(text("scorecard.note_T05", lang))
    lines.append(text("scorecard.disclaimer", lang))
    return "\n".join(lines)


def _write_text(content: str, path: Path) -> None:
    path.write_text(content, encoding="utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    from hatinh_sd.data import load_all
    from hatinh_sd.invariants import check_run
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder, write_csv, write_run
    from hatinh_sd.targets import check_targets, scorecard

    data = load_all()  # validate every data file before anything runs
    params = parse_set(args.set or [])
    model = load_model()
    check_targets(data.targets, variables=model.outputs)
    # --set overrides model constants within their .mdl ranges (a sweep may set a switch to
    # 0.37); a scenario file's levers also follow the catalogue (switches 0 or 1, whole years)
    model.resolve_params(params, source="--set", ranged_only=True)
    names = list(args.scenario or [])
    if args.all or names:
        from hatinh_sd.scenarios import (
            available_scenarios,
            load_catalogue,
            load_scenario,
            run_scenario,
        )

        if params:
            raise HatinhInputError(
                "--set cannot be combined with --scenario/--all; put the change in a scenario file",
                path="--set",
            )
        if args.all and names:
            raise HatinhInputError(
                "--all runs every scenario of the project; give --all or --scenario, not both",
                key="--all",
            )
        if args.all:
            names = available_scenarios()
        cat = load_catalogue(model=model)
        scenarios = [load_scenario(n, model=model, catalogue=cat) for n in names]  # check all first
        check_unique((s.name for s in scenarios), "--scenario")
        folders = {s.name: output_folder(args.out, s.name) for s in scenarios}
        runs: list[tuple[str, xr.Dataset, Scenario | None]] = [
            (s.name, run_scenario(s, model), s) for s in scenarios
        ]
    else:
        name = "baseline" if not params else "custom"
        folders = {name: output_folder(args.out, name)}
        runs = [(name, model.run(params, scenario=name), None)]
    for name, ds, scn in runs:
        card = scorecard(ds, targets=data.targets)
        failed = check_run(ds, model)
        extra: dict[str, Callable[[Path], None]] = {
            "scorecard.csv": partial(write_csv, card, index=False, float_format="%.6g")
        }
        if scn is not None:
            extra["scenario.yaml"] = partial(_write_text, str(ds.attrs["scenario_yaml"]))
        if len(failed):
            extra["bad_runs.csv"] = partial(write_csv, failed, index=False)
        folder = write_run(ds, folders[name], extra=extra)
        title = (
            getattr(scn.title, args.lang)
            if scn is not None
            else text(f"run.title.{name}", args.lang)
        )
        print(text("run.scenario", args.lang, name=title))
        print(format_scorecard(card, args.lang))
        print(text("run.wrote", args.lang, path=folder / "results.nc"))
        if len(failed):
            print(
                text("run.bad_runs", args.lang, n=len(failed), path=folder / "bad_runs.csv"),
                file=sys.stderr,
            )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the model and print the target scorecard")
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="override a model constant (repeatable)",
    )
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run a scenario of scenarios/ (name or YAML file; repeatable)",
    )
    p.add_argument("--all", action="store_true", help="run every scenario of scenarios/")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_run)
