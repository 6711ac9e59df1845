"""Density: block average of the production state rows (Flyvbjerg–Petersen error)."""

from __future__ import annotations

from polcg.md.estimators import block_average
from polcg.md.properties import Context, Property, register


@register
class Density(Property):
    name = "density"
    help = "g/cm3, from the state rows"
    order = 10

    def compute(self, ctx: Context) -> None:
        ctx.values["density_g_cm3"] = block_average(ctx.state["density_g_cm3"])
