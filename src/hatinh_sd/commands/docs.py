"""``hatinh-sd docs``: regenerate documentation that is derived from the model."""

from __future__ import annotations

import argparse

from hatinh_sd.i18n import text


def cmd_docs(args: argparse.Namespace) -> int:
    from hatinh_sd.model import load_model
    from hatinh_sd.modeldoc import update_readme

    path = update_readme(load_model())
    print(text("run.wrote", args.lang, path=path))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "docs", help="regenerate the assumptions table of model/README.md from the .mdl"
    )
    p.set_defaults(func=cmd_docs)
