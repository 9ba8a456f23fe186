"""``hatinh-sd export``: the calibrated model as a Vensim file other engines run as the project does."""

from __future__ import annotations

import argparse

from hatinh_sd.i18n import text


def cmd_export(args: argparse.Namespace) -> int:
    from hatinh_sd.mdlexport import write_export
    from hatinh_sd.model import load_model
    from hatinh_sd.results import output_folder

    model = load_model()
    folder = output_folder(args.out, "export")
    for path in write_export(model, folder, formats=args.format).values():
        print(text("export.wrote", args.lang, path=path))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the calibrated model as Vensim: hatinh_calibrated.mdl (plain PySD runs it "
        "as the project does; hatinh-sd crosscheck rewrites DELAY FIXED for pysimlin) and a .cin "
        "changes file; and as XMILE with --format xmile",
    )
    p.add_argument(
        "--format",
        nargs="+",
        choices=["vensim", "xmile"],
        default=["vensim"],
        help="vensim: the .mdl with the calibration written in, and the .cin changes file; "
        "xmile: hatinh_calibrated.xmile for Stella and other XMILE tools (written by pysimlin)",
    )
    p.add_argument(
        "--out",
        default="outputs",
        help="output folder; the files go to OUT/export (default: outputs)",
    )
    p.set_defaults(func=cmd_export)
