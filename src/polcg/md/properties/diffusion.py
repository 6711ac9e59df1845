"""Self-diffusion per species: centre-of-mass MSD over the diffusive window (log–log slope ≈ 1),
and, given a shear viscosity, with the Yeh–Hummer finite-size correction. Where a species has no
diffusive regime its apparent D (an upper bound) is reported and the property fails. The MSDs and
their fit windows are written as `msd.csv` and `msd.png`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polcg.errors import InputError
from polcg.md.estimators import Estimate, MSDCurve, apparent_diffusion, self_diffusion_fit, yeh_hummer_m2_s
from polcg.md.properties import Context, Property, register


@dataclass(frozen=True)
class DiffusionResult:
    coefficients: dict[str, Estimate]  # uncorrected D by molecule name
    curves: dict[str, MSDCurve]  # the MSD each was fitted on


@register
class Diffusion(Property):
    name = "diffusion"
    help = "self-diffusion per species, m2/s"
    order = 20

    def compute(self, ctx: Context) -> DiffusionResult:
        """Adds diffusion_<molecule>_m2_s (and _corrected_m2_s); returns the uncorrected D by molecule
        name and the MSDs they were fitted on."""
        s, st = ctx.series, ctx.settings
        diffusion, curves, slow = {}, {}, []
        for name in dict.fromkeys(s.molecule_name):
            sel = [i for i, n in enumerate(s.molecule_name) if n == name]
            try:
                diffusion[name], curves[name] = self_diffusion_fit(s.com_nm[:, sel], ctx.dt_ps, st.blocks)
            except InputError:
                ctx.values[f"diffusion_{name}_apparent_m2_s"] = apparent_diffusion(s.com_nm[:, sel], ctx.dt_ps,
                                                                                   st.blocks)
                slow.append(name)
                continue
            ctx.values[f"diffusion_{name}_m2_s"] = diffusion[name]
        if slow:
            raise InputError(f"no diffusive regime for {', '.join(slow)} (log-log MSD slope never near 1): run "
                             "longer; diffusion_<molecule>_apparent_m2_s is an upper bound")
        if st.viscosity_mpa_s is None:
            ctx.notes.append("no viscosity given (--viscosity): diffusion coefficients are not finite-size corrected")
            return DiffusionResult(diffusion, curves)
        box_nm = float(np.mean(s.volume_nm3) ** (1.0 / 3.0))
        corr = yeh_hummer_m2_s(ctx.run.settings.temperature_k, st.viscosity_mpa_s * 1e-3, box_nm)
        for name, d in diffusion.items():
            ctx.values[f"diffusion_{name}_corrected_m2_s"] = Estimate(
                d.value + corr, d.error, f"{d.detail}; Yeh-Hummer +{corr:.3g} m2/s (eta {st.viscosity_mpa_s} mPa s, "
                f"L {box_nm:.3f} nm)")
        return DiffusionResult(diffusion, curves)

    def write(self, props, out_dir: Path) -> dict[str, Path]:
        from polcg.md.msd_files import write_msd

        return write_msd(props.raw[self.name].curves, out_dir, "msd", "nm2")
