"""The baseline's pinned values: shared by the regression test and its update script.

Changing ``tests/data/baseline_reference.json`` is a reviewed act with a
CHANGELOG line: run ``python tests/regression.py`` after an intended model
change, look at the differences it prints, and commit both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REFERENCE = Path(__file__).parent / "data" / "baseline_reference.json"
YEARS = (2030, 2050)
EXTRA = [
    "grdp",
    "grdp_current",
    "total_population",
    "urban_population",
    "total_employment",
    "agricultural_employment",
    "total_investment_current",
    "fdi_registered_stock",
    "steel_output",
    "coal_generation",
    "total_co2_emissions",
    "agricultural_land",
    "developed_industrial_land",
    "occupied_industrial_land",
    "public_debt",
    "public_investment",
    "private_disposable_income",
    "relative_modern_wage",
    "underemployment",
    "grdp_per_capita_constant",
    "grdp_ratio_to_20th_province_constant",
]


def pinned_values(ds) -> dict[str, dict[str, float]]:
    from hatinh_sd.targets import indicator_variables

    names = sorted(set(indicator_variables().values()) | set(EXTRA))
    return {n: {str(y): float(ds[n].sel(time=y)) for y in YEARS} for n in names}


def main() -> int:
    from hatinh_sd.model import load_model

    model = load_model()
    new = pinned_values(model.run())
    old = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {"values": {}}
    for name, vals in new.items():
        for year, v in vals.items():
            before = old["values"].get(name, {}).get(year)
            if before is None or abs(v - before) > 1e-6 * max(abs(before), 1e-12):
                print(f"{name} {year}: {before} -> {v}")
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(
        json.dumps({"model_sha256": model.hash, "values": new}, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
