"""Ionic conductivity: Einstein–Helfand on the collective translational dipole of the ions' centres
of mass (physical charges), the Nernst–Einstein estimate from the D's, and their ratio; the MSD of
the translational dipole and its fit window as `conductivity_msd.csv` and `.png`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from polcg.md.estimators import Estimate, MSDCurve, einstein_helfand_fit, nernst_einstein
from polcg.md.properties import Context, Property, register


@register
class Conductivity(Property):
    name = "conductivity"
    help = "Einstein-Helfand and Nernst-Einstein, S/m; computes diffusion"
    order = 30
    requires = ("diffusion",)

    def compute(self, ctx: Context) -> MSDCurve | None:
        """Adds the conductivities; returns the translational dipole's MSD (None without ions)."""
        s, st, diffusion = ctx.series, ctx.settings, ctx.results["diffusion"].coefficients
        ions = [i for i, r in enumerate(s.molecule_role) if r in ("cation", "anion")]
        if not ions:
            return None
        names = list(dict.fromkeys(s.molecule_name))
        volume, temp = float(np.mean(s.volume_nm3)), ctx.run.settings.temperature_k
        eh, curve = einstein_helfand_fit(s.com_nm[:, ions], s.molecule_charge_e[ions], volume, temp, ctx.dt_ps,
                                         st.blocks)
        charge = {n: float(s.molecule_charge_e[s.molecule_name.index(n)]) for n in names}
        charged = [n for n in names if abs(charge[n]) > 1e-9]
        counts = {charge[n]: s.molecule_name.count(n) for n in charged}
        ne = nernst_einstein({charge[n]: diffusion[n].value for n in charged}, counts, volume, temp)
        ne_err = nernst_einstein({charge[n]: diffusion[n].error for n in charged}, counts, volume, temp)
        ctx.values["conductivity_einstein_helfand_s_m"] = eh
        ctx.values["conductivity_nernst_einstein_s_m"] = Estimate(ne, ne_err, "from the uncorrected D's")
        ratio = eh.value / ne
        ctx.values["conductivity_ratio_eh_ne"] = Estimate(
            ratio, abs(ratio) * math.hypot(eh.error / eh.value, ne_err / ne), "Einstein-Helfand / Nernst-Einstein")
        return curve

    def write(self, props, out_dir: Path) -> dict[str, Path]:
        from polcg.md.msd_files import write_msd

        return write_msd({"M_J": props.raw[self.name]}, out_dir, "conductivity_msd", "e2nm2")
