"""``hatinh-sd docs``: regenerate documentation that is derived from the model."""

from __future__ import annotations

import argparse

from hatinh_sd.errors import read_text
from hatinh_sd.i18n import text


def cmd_docs(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import evaluate, load_setup
    from hatinh_sd.commands.calibrate import update_readme_fit
    from hatinh_sd.model import load_model
    from hatinh_sd.modeldoc import update_readme
    from hatinh_sd.project import current_project
    from hatinh_sd.scenarios import lever_effects

    model = load_model()
    readme = current_project().path("readme")
    # the lever table (each lever's effect on GRDP, T01, T03, T07 and its costs) is the Hà Tĩnh
    # model's: written where its README has the section for it
    levers = "<!-- levers:start -->" in read_text(readme)
    path = update_readme(model, readme, levers=lever_effects(model) if levers else None)
    if model.calibration:  # the fit table of the reviewed calibration, without refitting
        fit = evaluate(model, load_setup(model), dict(model.calibration)).fit
        update_readme_fit(fit, path)
    print(text("run.wrote", args.lang, path=path))
    from hatinh_sd.factors import write_factor_table

    print(text("run.wrote", args.lang, path=write_factor_table(model)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "docs",
        help="regenerate the generated tables of model/README.md (assumptions, effects, levers, fit) and sensitivity/factors.csv from the .mdl and the calibration",
    )
    p.set_defaults(func=cmd_docs)
