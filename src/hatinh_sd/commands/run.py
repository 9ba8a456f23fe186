"""``hatinh-sd run``: run the model and print the target scorecard."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import text


def parse_set(items: list[str]) -> dict[str, float]:
    """Parse ``NAME=VALUE`` overrides given on the command line."""
    params: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise HatinhInputError(f"'{item}' is not NAME=VALUE", path="--set", key=item)
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise HatinhInputError(
                f"value '{value}' of '{name.strip()}' is not a number",
                path="--set",
                key=name.strip(),
            ) from None
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
        label = text(f"target.{r['id']}", lang)
        status = text("scorecard.met" if r["met"] else "scorecard.missed", lang)
        lines.append(
            f"{r['id']:<4} {label[:58]:<58} {r['value']:>12.2f} {r[extra]:>12.2f} "
            f"{r['comparator'] + ' ' + format(r['target'], 'g'):>12}  {status}"
        )
    lines.append("")
    if "T05" in set(card["id"]):
        lines.append(text("scorecard.note_T05", lang))
    lines.append(text("scorecard.disclaimer", lang))
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from hatinh_sd.data import load_all
    from hatinh_sd.model import load_model
    from hatinh_sd.results import write_run
    from hatinh_sd.targets import scorecard

    data = load_all()  # validate every data file before anything runs
    params = parse_set(args.set or [])
    model = load_model()
    model.resolve_params(params, source="--set")
    name = "baseline" if not params else "custom"
    ds = model.run(params, scenario=name)
    card = scorecard(ds, targets=data.targets)
    folder = write_run(
        ds,
        Path(args.out) / name,
        extra={"scorecard.csv": lambda p: card.to_csv(p, index=False, float_format="%.6g")},
    )
    print(text("run.scenario", args.lang, name=name))
    print(format_scorecard(card, args.lang))
    print(text("run.wrote", args.lang, path=folder / "results.nc"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the model and print the target scorecard")
    p.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="override a model constant (repeatable)",
    )
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_run)
