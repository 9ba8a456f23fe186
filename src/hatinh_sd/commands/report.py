"""``hatinh-sd report --scenarios NAME... [--format html pdf docx] [--summary] [--lang vi|en]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hatinh_sd.i18n import LANGUAGES, text

#: Scenarios of the report when none are named.
DEFAULT_SCENARIOS = ["baseline", "action_programme"]


def cmd_report(args: argparse.Namespace) -> int:
    from hatinh_sd.documents import find_chromium, html_to_docx, html_to_pdf
    from hatinh_sd.model import load_model
    from hatinh_sd.report import build_report, report_name
    from hatinh_sd.results import atomic_file, output_folder

    formats = list(dict.fromkeys(args.format))
    stem = report_name(args.scenarios, args.lang, summary=args.summary)  # checks the names
    if "pdf" in formats:
        find_chromium()  # before anything runs
    model = load_model()
    out = Path(args.out)
    folder = output_folder(out, "report")
    doc = build_report(
        model, args.scenarios, lang=args.lang, outputs=out, summary_only=args.summary
    )
    html_path = folder / f"{stem}.html"
    with atomic_file(html_path) as tmp:
        tmp.write_text(doc, encoding="utf-8")
    written = [html_path]
    if "pdf" in formats:
        written.append(html_to_pdf(html_path, folder / f"{stem}.pdf"))
    if "docx" in formats:
        written.append(html_to_docx(doc, folder / f"{stem}.docx"))
    for path in written:
        print(text("report.wrote", args.lang, path=path))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from hatinh_sd.documents import FORMATS

    p = sub.add_parser(
        "report",
        help="write the scenario report (self-contained HTML; PDF and DOCX on request) "
        "under outputs/report/",
    )
    p.add_argument(
        "--scenarios",
        nargs="+",
        default=DEFAULT_SCENARIOS,
        metavar="NAME",
        help=f"scenario names or YAML files (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    p.add_argument(
        "--format",
        nargs="+",
        choices=FORMATS,
        default=["html"],
        help="formats to write besides the HTML: pdf (A4, through Chromium) and docx "
        "(default: html only)",
    )
    p.add_argument(
        "--summary",
        action="store_true",
        help="write the one-page summary alone (summary_<scenarios>_<lang>.<format>)",
    )
    # also accepted after the command; without it the global --lang applies
    p.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help="language")
    p.add_argument(
        "--out",
        default="outputs",
        help="output folder; the report goes to OUT/report/report_<scenarios>_<lang>.<format> "
        "(the scenarios shortened with a hash when long) and ensemble results are looked for "
        "under OUT (default: outputs)",
    )
    p.set_defaults(func=cmd_report)
