"""Static dielectric constant: fluctuations of the rotational dipole (see `series`) with tin-foil
boundaries, ε = ε_∞ + (<M²> − <M>²)/(3 ε₀ V k_B T). ε_∞ is the background the explicit dipoles
sit in: ε_IL / ε_W for VaCG (exact for a uniform background, where the q/√ε scaling is an ECC
model; mixtures use the charged-bead-weighted mean, an approximation), the Drudes' electronic
response for Drude models (`electronic.py`), 1 otherwise."""

from __future__ import annotations

import math

import numpy as np

from polcg.md.estimators import Estimate, dielectric_constant
from polcg.md.properties import Context, Property, register


@register
class Dielectric(Property):
    name = "dielectric"
    help = "static dielectric constant from the rotational dipole"
    order = 40

    def compute(self, ctx: Context) -> None:
        from polcg.md.electronic import background_permittivity

        eps_inf = background_permittivity(ctx.run)
        eps = dielectric_constant(ctx.series.dipole_e_nm, float(np.mean(ctx.series.volume_nm3)),
                                  ctx.run.settings.temperature_k, eps_inf.value)
        ctx.values["dielectric_constant"] = Estimate(eps.value, math.hypot(eps.error, eps_inf.error),
                                                     f"eps_inf {eps_inf.value:.4g} ({eps_inf.detail}); {eps.detail}")
        ctx.values["dielectric_background"] = eps_inf
