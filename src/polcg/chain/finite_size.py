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
            "correction_m2_s": [c * inv1, c * inv2], "box_nm": [l1, l2], "D_m2_s": [d1, d2],
            "note": "" if eta else "D does not grow with the box: no viscosity from this pair of boxes"}
