"""The Yeh–Hummer check of a self-diffusion coefficient from two box sizes.

In a cubic periodic box of edge L, D(L) = D∞ − k_B T ξ / (6π η L) (Yeh & Hummer, J. Phys. Chem. B
2004, 108, 15873; ξ = 2.837297). Two boxes give the slope c = k_B T ξ / (6π η) of D against 1/L,
hence D∞ and the shear viscosity η the simulation itself implies; the correction of the smaller
box is c / L. Errors are propagated linearly from the two D's (box edges taken as exact).
"""

from __future__ import annotations

import math

from polcg.md.estimators import KB_J_K, NM, YEH_HUMMER_XI


def yeh_hummer(temperature_k: float, box_nm: tuple[float, float], d_m2_s: tuple[float, float],
               err_m2_s: tuple[float, float]) -> dict:
    """D∞ (m²/s), the slope c (m³/s), the implied η (Pa s; None where D does not grow with L) and
    the correction c/L of each box, from D (± error) in two boxes of edges `box_nm`."""
    (l1, l2), (d1, d2), (e1, e2) = box_nm, d_m2_s, err_m2_s
    inv1, inv2 = 1.0 / (l1 * NM), 1.0 / (l2 * NM)
    if abs(inv1 - inv2) < 1e-12 * inv1:
        raise ValueError(f"two boxes of the same size ({l1:.4f} nm): no finite-size slope")
    c = (d2 - d1) / (inv1 - inv2)
    c_err = math.hypot(e1, e2) / abs(inv1 - inv2)
    a = inv1 / (inv1 - inv2)
    d_inf = d1 + c * inv1
    eta = KB_J_K * temperature_k * YEH_HUMMER_XI / (6.0 * math.pi * c) if c > 0 else None
    return {"D_infinite_m2_s": d_inf, "D_infinite_err_m2_s": math.hypot((1 - a) * e1, a * e2),
            "slope_m3_s": c, "slope_err_m3_s": c_err, "viscosity_pa_s": eta,
            "viscosity_err_pa_s": eta * c_err / c if eta else None,
            "correction_m2_s": [c * inv1, c * inv2], "box_nm": [l1, l2], "D_m2_s": [d1, d2], "D_err_m2_s": [e1, e2],
            "note": "" if eta else "D does not grow with the box: no viscosity from this pair of boxes"}


def yeh_hummer_joint(temperature_k: float, box_nm: tuple[float, float], species: dict[str, dict]) -> dict:
    """One finite-size slope for all species: c = k_B T ξ / (6π η) depends on the viscosity alone,
    so the species' slopes (from `yeh_hummer`, keyed by species) are averaged with inverse-variance
    weights, giving one implied η and each species' D∞ = D(L₁) + c / L₁. `consistency_chi2` (with
    `dof`) says whether the species' own slopes agree with the common one."""
    slopes = {k: (v["slope_m3_s"], v["slope_err_m3_s"]) for k, v in species.items()}
    if not slopes:
        return {}
    weights = {k: 1.0 / max(e, 1e-300) ** 2 for k, (_, e) in slopes.items()}
    total = sum(weights.values())
    c = sum(weights[k] * s for k, (s, _) in slopes.items()) / total
    c_err = 1.0 / math.sqrt(total)
    inv1 = 1.0 / (box_nm[0] * NM)
    eta = KB_J_K * temperature_k * YEH_HUMMER_XI / (6.0 * math.pi * c) if c > 0 else None
    d_inf = {}
    for k, v in species.items():
        d1, e1 = v["D_m2_s"][0], v["D_err_m2_s"][0]
        d_inf[k] = {"value": d1 + c * inv1, "error": math.hypot(e1, c_err * inv1)}
    chi2 = sum(((s - c) / e) ** 2 for s, e in slopes.values() if e > 0)
    return {"slope_m3_s": c, "slope_err_m3_s": c_err, "viscosity_pa_s": eta,
            "viscosity_err_pa_s": eta * c_err / c if eta else None, "D_infinite_m2_s": d_inf,
            "correction_m2_s": c * inv1, "consistency_chi2": chi2, "dof": len(slopes) - 1,
            "note": "" if eta else "D does not grow with the box: no viscosity from this pair of boxes"}
