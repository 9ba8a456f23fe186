"""``hatinh-sd report --scenarios NAME... [--lang vi|en]``: the bilingual HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path

from hatinh_sd.i18n import LANGUAGES, text

#: Scenarios of the report when none are named.
DEFAULT_SCENARIOS = ["baseline", "action_programme"]


def cmd_report(args: argparse.Namespace) -> int:
    from hatinh_sd.model import load_model
    from hatinh_sd.report import write_report

    model = load_model()
    out = Path(args.out)
    path = write_report(
        model,
        args.scenarios,
        out / "report" / f"report_{args.lang}.html",
        lang=args.lang,
        outputs=out,
    )
    print(text("report.wrote", args.lang, path=path))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the scenario report (one self-contained HTML file) under outputs/report/",
    )
    p.add_argument(
        "--scenarios",
        nargs="+",
        default=DEFAULT_SCENARIOS,
        metavar="NAME",
        help=f"scenario names or YAML files (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    # also accepted after the command; without it the global --lang applies
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help="language")
    p.add_argument(
        "--out",
        default="outputs",
        help="output folder; the report goes to OUT/report/report_<lang>.html and "
        "ensemble results are looked for under OUT (default: outputs)",
    )
    p.set_defaults(func=cmd_report)
