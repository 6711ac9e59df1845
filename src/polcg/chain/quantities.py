"""The report's quantities: `polcg analyze` names and units → the chain's keys in SI units."""

from __future__ import annotations

#: report key → (analysis key template, factor from the analysis unit, report unit)
KEYS = {
    "density_kg_m3": ("density_g_cm3", 1000.0, "kg/m3"),
    "D_cation_m2_s": ("diffusion_{cation}_m2_s", 1.0, "m2/s"),
    "D_anion_m2_s": ("diffusion_{anion}_m2_s", 1.0, "m2/s"),
    "conductivity_S_m": ("conductivity_einstein_helfand_s_m", 1.0, "S/m"),
    "hvap_kJ_mol": ("hvap_kj_mol", 1.0, "kJ/mol"),
}


def from_analysis(values: dict, cation: str, anion: str, apparent: bool = False) -> dict[str, dict]:
    """{key: {value, error, detail}} for the report keys that `values` (analysis name → {value,
    error, detail}) has; missing ones are left out. With `apparent`, a D the run could not give (no
    diffusive regime) is its apparent value, an upper bound (what the ε_IL scan uses to locate the
    transport target; the validation reports only diffusive D's)."""
    out = {}
    for key, (template, factor, _) in KEYS.items():
        name = template.format(cation=cation, anion=anion)
        v = values.get(name)
        if v is None and apparent and name.startswith("diffusion_"):
            v = values.get(name.replace("_m2_s", "_apparent_m2_s"))
        if v is not None:
            out[key] = {"value": v["value"] * factor, "error": v["error"] * factor, "detail": v.get("detail", "")}
    return out
