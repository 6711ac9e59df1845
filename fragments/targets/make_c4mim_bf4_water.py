"""Build C4mim_BF4_water.csv (the shipped [C4mim][BF4]–water targets of `polcg fit-dielectric`)
from ../shared/reference/experimental_c4mim_bf4.csv. Run from the repository root:

    python fragments/targets/make_c4mim_bf4_water.py [path/to/experimental_c4mim_bf4.csv]

Densities at 298.15 K: the median of every data set within ±0.01 in x of each fit composition
(pure water: x = 1 exactly; dilute IL solutions sit just below it)
(Li et al. 2007, flagged 1.6 % low in the reference README, left out). The other rows are written
below with their sources; tolerances (the `uncertainty` column) are what the fit should reach, not
experimental errors (those are in the source notes).
"""

from __future__ import annotations

import csv
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).parent
REFERENCE = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared/reference/experimental_c4mim_bf4.csv"
X_FIT = (0.0, 0.2, 0.5, 0.8, 1.0)
DENSITY_TOLERANCE = 0.01  # 1 %: what a CG model is asked to reproduce

rows = [r for r in csv.DictReader(open(REFERENCE, encoding="utf-8"))]
out = []
for x in X_FIT:
    vals = [float(r["value"]) for r in rows if r["property"] == "density" and abs(float(r["T_K"]) - 298.15) < 0.1
            and abs(float(r["x_water"]) - x) <= (0.01 if x < 1 else 0.0)
            and not r["source"].startswith("Li, W.; Zhang, Z.; Han, B.")]
    med = statistics.median(vals)
    out.append(["density", f"{100 * x:g}", "298.15", f"{med:.1f}", "kg/m3", f"{DENSITY_TOLERANCE * med:.1f}", "1",
                f"median of {len(vals)} ILThermo points at x_water {x:g}{'+-0.01' if x < 1 else ''}, 298.15 K "
                f"({min(vals):.1f}-{max(vals):.1f}); ../shared/reference/experimental_c4mim_bf4.csv"])
kappa = [float(r["value"]) for r in rows if r["property"] == "conductivity" and abs(float(r["T_K"]) - 298.15) < 0.1
         and float(r["x_water"] or 0) == 0]
out.append(["conductivity", "0", "298.15", f"{statistics.median(kappa):.3f}", "S/m",
            f"{0.3 * statistics.median(kappa):.3f}", "1",
            f"median of {len(kappa)} pooled ILThermo points (dry IL, water content unknown; "
            f"{min(kappa):.3f}-{max(kappa):.3f}); tolerance 30 %"])
hvap = [r for r in rows if r["property"] == "heat_of_vaporization"][0]
out.append(["hvap", "0", "298.15", hvap["value"], "kJ/mol", "15", "0.5",
            f"{hvap['source']}: transpiration at {hvap['T_K']} K, used at 298.15 K with a 15 kJ/mol tolerance "
            "for the temperature correction, weight 0.5"])
out.append(["dielectric", "100", "298.15", "78.30", "1", "4", "1",
            "pure water at 25 C: C. G. Malmberg, A. A. Maryott, J. Res. Natl. Bur. Stand. 1956, 56, 1 "
            "(abstract read at ape-saint-mathieu.com/site/note-on-dielectric-constant-of-water-d6f45b); tolerance 5 %"])
with open(HERE / "C4mim_BF4_water.csv", "w", newline="", encoding="utf-8") as fh:
    fh.write("# [C4mim][BF4] + water targets for polcg fit-dielectric; made by make_c4mim_bf4_water.py\n")
    w = csv.writer(fh)
    w.writerow(["property", "x", "T_K", "value", "unit", "uncertainty", "weight", "source"])
    w.writerows(out)
