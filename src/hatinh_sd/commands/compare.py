"""``hatinh-sd compare NAME...``: targets, investment and charts of several scenarios."""

from __future__ import annotations

import argparse

from hatinh_sd.errors import check_unique
from hatinh_sd.i18n import number, text


def cmd_compare(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import comparable_observed, project_setup
    from hatinh_sd.compare import write_comparison
    from hatinh_sd.data import load_all
    from hatinh_sd.model import load_model
    from hatinh_sd.results import joined_name, output_folder
    from hatinh_sd.scenarios import load_catalogue, load_scenario, resolve_scenario, run_scenario
    from hatinh_sd.store import Store

    data = load_all()
    model = load_model()
    cat = load_catalogue(model=model)
    scenarios = [
        load_scenario(n, model=model, catalogue=cat) for n in args.names
    ]  # all checked first
    check_unique((s.name for s in scenarios), "NAME")
    store = Store(args.out)  # the runs of `hatinh-sd run --out` the same folder, when current
    runs = {
        s.name: store.run(model, s.name, resolve_scenario(s, model)) or run_scenario(s, model)
        for s in scenarios
    }
    titles = {s.name: str(getattr(s.title, args.lang)) for s in scenarios}
    # one folder per scenario set and language: a comparison in one language keeps the other's
    folder = output_folder(args.out, joined_name("compare", [*runs, args.lang]))
    tables = write_comparison(
        runs,
        folder,
        lang=args.lang,
        targets=data.targets,
        observed=comparable_observed(data.observed, project_setup(model)),
        titles=titles,
    )
    t = tables["targets"]
    print(text("compare.header", args.lang, year=2030, count=t["id"].nunique()))
    for name, grp in t.groupby("scenario", sort=False):
        print(
            f"  {int(grp['met'].sum()):>2}  {titles[str(name)]}: "
            + " ".join(grp.loc[grp["met"], "id"])
        )
    inv = tables.get("investment")
    if inv is not None:
        print(text("compare.investment_header", args.lang))
        for _, r in inv.iterrows():
            flag = text("compare.over" if r["over_budget"] else "compare.within", args.lang)
            print(
                "  "
                + text(
                    "compare.investment_line",
                    args.lang,
                    scenario=titles[r["scenario"]],
                    period=r["period"],
                    total=number(r["total"], args.lang, digits=0),
                    state=number(r["state"], args.lang, digits=0),
                    private=number(r["private"], args.lang, digits=0),
                    fdi=number(r["fdi"], args.lang, digits=0),
                    icor=number(r["icor"], args.lang, digits=2),
                    share=number(r["state_share_grdp"], args.lang, digits=1),
                    unpaid=number(r["budget_unpaid"], args.lang, digits=1),
                    flag=flag,
                )
            )
    files = ", ".join([*(f"{k}.csv" for k in tables), "comparison.xlsx", "charts/"])
    print(text("compare.wrote", args.lang, path=f"{folder} ({files})"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare scenarios: targets, investment, charts")
    p.add_argument("names", nargs="+", metavar="NAME", help="scenario names or YAML files")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_compare)
