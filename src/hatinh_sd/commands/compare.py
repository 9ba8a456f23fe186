"""``hatinh-sd compare NAME...``: targets, investment and charts of several scenarios."""

from __future__ import annotations

import argparse

from hatinh_sd.i18n import text


def cmd_compare(args: argparse.Namespace) -> int:
    from hatinh_sd.calibration import comparable_observed, load_setup
    from hatinh_sd.compare import load_envelope, write_comparison
    from hatinh_sd.data import load_all
    from hatinh_sd.model import load_model
    from hatinh_sd.results import joined_name, output_folder
    from hatinh_sd.scenarios import load_catalogue, load_scenario, run_scenario

    data = load_all()
    model = load_model()
    cat = load_catalogue(model=model)
    envelope = load_envelope()
    scenarios = [
        load_scenario(n, model=model, catalogue=cat) for n in args.names
    ]  # all checked first
    runs = {s.name: run_scenario(s, model) for s in scenarios}
    folder = output_folder(args.out, joined_name("compare", list(runs)))
    tables = write_comparison(
        runs,
        folder,
        lang=args.lang,
        targets=data.targets,
        observed=comparable_observed(data.observed, load_setup(model)),
        envelope=envelope,
    )
    t = tables["targets"]
    print(text("compare.header", args.lang, year=2030))
    for name, grp in t.groupby("scenario", sort=False):
        print(f"  {name:<24} {int(grp['met'].sum()):>2}  " + " ".join(grp.loc[grp["met"], "id"]))
    print(text("compare.investment_header", args.lang))
    inv = tables["investment"]
    for _, r in inv.iterrows():
        flag = text("compare.over" if r["over_envelope"] else "compare.within", args.lang)
        print(
            f"  {r['scenario']:<24} {r['period']}  {r['total']:>8.0f}  "
            f"(state {r['state']:.0f}, private {r['private']:.0f}, FDI {r['fdi']:.0f})  "
            f"ICOR {r['icor']:.2f}  state {r['state_share_grdp']:.1f} % GRDP [{flag}]"
        )
    print(text("compare.wrote", args.lang, path=folder))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare scenarios: targets, investment, charts")
    p.add_argument("names", nargs="+", metavar="NAME", help="scenario names or YAML files")
    p.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    p.set_defaults(func=cmd_compare)
