"""The ``hatinh-sd`` command line: a thin layer over the Python API.

Commands live in :mod:`hatinh_sd.commands` (one module each, discovered here).
Every command validates all of its inputs before it runs anything; a bad input
prints one line naming the file, the line or key and what is allowed, exits
with status 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys
import warnings
from typing import Any, NoReturn

from hatinh_sd import commands
from hatinh_sd.errors import HatinhInputError
from hatinh_sd.i18n import LANGUAGES, text
from hatinh_sd.project import current_project, use_project

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


#: Commands that run with a stale calibration: they refit it or document the model.
STALE_ALLOWED = ("calibrate", "docs")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hatinh-sd",
        description="System-dynamics model of Hà Tĩnh province's industrialisation "
        "(Vensim model run under PySD).",
    )
    parser.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of labels and messages"
    )
    parser.add_argument(
        "--project",
        metavar="FILE",
        help="project file naming the model, data, scenarios and factor table (default: "
        "$HATINH_SD_PROJECT, else project.yaml of this repository)",
    )
    parser.add_argument(
        "--allow-stale-calibration",
        action="store_true",
        help="run with a model/calibration.yaml fitted to other equations (a warning instead "
        "of an error)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def _one_line_warnings(lang: str) -> Any:
    """``warnings.showwarning`` for the command line: ``hatinh-sd: warning: <message>``, one
    line (the category named unless it is a plain ``UserWarning``), no source line."""

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        kind = "" if category is UserWarning else f"{category.__name__}: "
        line = " ".join(f"{kind}{message}".split())
        print(f"hatinh-sd: {text('warning.prefix', lang)}: {line}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hatinh-sd`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from hatinh_sd import model as model_module

    # a calibration fitted to other equations is refused, except by the commands that
    # refit it or rewrite the documentation
    strict = not args.allow_stale_calibration and args.command not in STALE_ALLOWED
    previous, model_module.STRICT_CALIBRATION = model_module.STRICT_CALIBRATION, strict
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(warnings.catch_warnings())  # restores showwarning
            warnings.showwarning = _one_line_warnings(args.lang)
            if args.project:
                stack.enter_context(use_project(args.project))
            else:  # the project file is checked before the command runs
                current_project()
            return int(args.func(args))
    except HatinhInputError as exc:
        print(f"hatinh-sd: {text('error.prefix', args.lang)}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written or read: the OS says why
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"hatinh-sd: {text('error.prefix', args.lang)}: {where}{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    finally:
        model_module.STRICT_CALIBRATION = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
