"""Heat of vaporisation (x = 0): <U_gas>/pair − <U_liq>/N_pairs + RT, the gas of isolated ion
pairs simulated by `gas.py` (cached in the run's analysis/)."""

from __future__ import annotations

import math

from polcg.md.estimators import Estimate, block_average
from polcg.md.properties import Context, Property, register
from polcg.units import KB_KJ_MOL_K


@register
class HeatOfVaporisation(Property):
    name = "hvap"
    help = "heat of vaporisation, kJ/mol, x = 0; runs gas-phase ion pairs"
    order = 50

    def compute(self, ctx: Context) -> None:
        from polcg.md.gas import GasSettings, gas_pair_energy

        run, st = ctx.run, ctx.settings
        if run.composition.n_water or not run.composition.n_pairs:
            ctx.notes.append("heat of vaporisation is computed for the neat ionic liquid only (x = 0)")
            return
        temp = run.settings.temperature_k
        gas = GasSettings(temperature_k=temp, copies=st.gas_copies, production_ps=st.gas_production_ps,
                          timestep_fs=run.settings.timestep_fs, seed=run.settings.seed)
        u_gas = gas_pair_energy(run.model, gas, run.directory / "analysis", st.platform)
        u_liq = block_average(ctx.state["potential_kj_mol"] / run.settings.n_pairs)
        rt = KB_KJ_MOL_K * temp
        ctx.values["hvap_kj_mol"] = Estimate(u_gas.value - u_liq.value + rt, math.hypot(u_gas.error, u_liq.error),
                                             f"U_gas {u_gas.value:.2f} ({u_gas.detail}), U_liq/pair "
                                             f"{u_liq.value:.2f}, RT {rt:.3f} kJ/mol")
        ctx.values["gas_pair_energy_kj_mol"] = u_gas
