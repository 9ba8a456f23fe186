"""``hatinh-sd scenarios``: list the scenarios; ``--readme`` renders scenarios/README.md."""

from __future__ import annotations

import argparse

from hatinh_sd.i18n import text


def cmd_scenarios(args: argparse.Namespace) -> int:
    from hatinh_sd.model import load_model
    from hatinh_sd.project import current_project
    from hatinh_sd.results import atomic_file
    from hatinh_sd.scenarios import (
        available_scenarios,
        load_catalogue,
        load_scenario,
        render_readme,
    )

    model = load_model()
    cat = load_catalogue(model=model)
    if args.readme:
        md = render_readme(cat)
        path = current_project().scenarios / "README.md"
        with atomic_file(path) as tmp:
            tmp.write_text(md, encoding="utf-8")
        print(text("scenarios.readme_wrote", args.lang, path=path))
        return 0
    print(text("scenarios.header", args.lang))
    for name in available_scenarios():
        scn = load_scenario(name, model=model, catalogue=cat)
        print(f"  {name:<22} {getattr(scn.title, args.lang)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenarios", help="list the scenarios (or render scenarios/README.md)")
    p.add_argument(
        "--readme", action="store_true", help="render scenarios/README.md from the catalogue"
    )
    p.set_defaults(func=cmd_scenarios)
