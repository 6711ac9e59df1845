"""`polcg analyze`: the properties of a run that users compare with experiment, each ± a standard
error, with what it was computed from.

* density: block average of the production state rows;
* self-diffusion per species: centre-of-mass MSD over the diffusive window (log–log slope ≈ 1),
  and, given a shear viscosity, with the Yeh–Hummer finite-size correction;
* ionic conductivity: Einstein–Helfand on the collective translational dipole of the ions'
  centres of mass (physical charges), the Nernst–Einstein estimate from the D's, and their ratio;
* static dielectric constant: fluctuations of the rotational dipole (see `series`) with tin-foil
  boundaries, ε = ε_∞ + (<M²> − <M>²)/(3 ε₀ V k_B T). ε_∞ is the background the explicit dipoles
  sit in: ε_IL / ε_W for VaCG (exact for a uniform background, where the q/√ε scaling is an ECC
  model; mixtures use the charged-bead-weighted mean, an approximation), the Drudes' electronic
  response for Drude models (`electronic.py`), 1 otherwise;
* heat of vaporisation (x = 0): <U_gas>/pair − <U_liq>/N_pairs + RT, the gas of isolated ion pairs
  simulated by `gas.py`;
* RDFs between bead types (CSV and PNG, written by `write_outputs`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from polcg.errors import InputError
from polcg.md.estimators import (
    Estimate,
    apparent_diffusion,
    block_average,
    dielectric_constant,
    einstein_helfand,
    nernst_einstein,
    self_diffusion,
    yeh_hummer_m2_s,
)
from polcg.md.series import Series, collect
from polcg.md.trajectory import Run
from polcg.units import KB_KJ_MOL_K

PROPERTIES = ("density", "diffusion", "conductivity", "dielectric", "hvap", "rdf")


@dataclass(frozen=True)
class AnalysisSettings:
    properties: tuple[str, ...] = PROPERTIES
    viscosity_mpa_s: float | None = None  # for the Yeh–Hummer correction
    blocks: int = 10
    rdf_max_frames: int = 200
    gas_copies: int = 32
    gas_production_ps: float = 2000.0
    platform: str = "CPU"  # for the gas-phase ion-pair runs

    def __post_init__(self):
        bad = [p for p in self.properties if p not in PROPERTIES]
        if bad or not self.properties:
            raise InputError(f"unknown properties {', '.join(bad) or '(none)'}: choose from {', '.join(PROPERTIES)}")
        if self.viscosity_mpa_s is not None and not self.viscosity_mpa_s > 0:
            raise InputError(f"viscosity must be positive, got {self.viscosity_mpa_s}")


@dataclass(frozen=True)
class Properties:
    run: str
    temperature_k: float
    water_fraction: float
    n_pairs: int
    frames: int
    frame_interval_ps: float
    finished: bool
    values: dict[str, Estimate] = field(default_factory=dict)  # name → estimate (units in the name)
    notes: tuple[str, ...] = ()
    rdf_r_nm: np.ndarray | None = field(default=None, repr=False)
    rdf: dict[str, np.ndarray] | None = field(default=None, repr=False)
    provenance: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("values", "rdf", "rdf_r_nm")}
        out["properties"] = {k: asdict(v) for k, v in self.values.items()}
        return out


def analyze(directory, settings: AnalysisSettings = AnalysisSettings()) -> Properties:
    run = Run.open(directory)
    want = set(settings.properties)
    series = collect(run, settings.rdf_max_frames if "rdf" in want else None)
    state = run.state()
    dt = run.frame_interval_ps()
    values, notes = {}, []
    if not run.finished:
        notes.append("the run is not finished: only its completed production segments were analysed")
    steps = (("density", lambda: values.update(density_g_cm3=block_average(state["density_g_cm3"]))),
             ("diffusion/conductivity", lambda: _transport(run, series, dt, settings, values, notes, want)),
             ("dielectric", lambda: values.update(_dielectric(run, series, settings))),
             ("hvap", lambda: _hvap(run, state, settings, values, notes)))
    for name, step in steps:
        if want & set(name.split("/")):
            try:
                step()
            except InputError as exc:  # a property the data cannot give is reported, the others still are
                notes.append(f"{name} not computed: {exc}")
    return Properties(str(run.directory), run.settings.temperature_k, run.water_fraction, run.settings.n_pairs,
                      len(series.time_ps), dt, run.finished, values, tuple(notes), series.rdf_r_nm, series.rdf,
                      _provenance(run, settings))


def _transport(run: Run, s: Series, dt: float, st: AnalysisSettings, values: dict, notes: list, want) -> None:
    names = list(dict.fromkeys(s.molecule_name))
    diffusion, slow = {}, []
    for name in names:
        sel = [i for i, n in enumerate(s.molecule_name) if n == name]
        try:
            diffusion[name] = self_diffusion(s.com_nm[:, sel], dt, st.blocks)
        except InputError:
            values[f"diffusion_{name}_apparent_m2_s"] = apparent_diffusion(s.com_nm[:, sel], dt, st.blocks)
            slow.append(name)
            continue
        values[f"diffusion_{name}_m2_s"] = diffusion[name]
    if slow:
        raise InputError(f"no diffusive regime for {', '.join(slow)} (log-log MSD slope never near 1): run longer; "
                         "diffusion_<molecule>_apparent_m2_s is an upper bound")
    box_nm = float(np.mean(s.volume_nm3) ** (1.0 / 3.0))
    if st.viscosity_mpa_s is not None:
        corr = yeh_hummer_m2_s(run.settings.temperature_k, st.viscosity_mpa_s * 1e-3, box_nm)
        for name, d in diffusion.items():
            values[f"diffusion_{name}_corrected_m2_s"] = Estimate(
                d.value + corr, d.error, f"{d.detail}; Yeh-Hummer +{corr:.3g} m2/s (eta {st.viscosity_mpa_s} mPa s, "
                f"L {box_nm:.3f} nm)")
    else:
        notes.append("no viscosity given (--viscosity): diffusion coefficients are not finite-size corrected")
    if "conductivity" not in want:
        return
    ions = [i for i, r in enumerate(s.molecule_role) if r in ("cation", "anion")]
    if not ions:
        return
    volume, temp = float(np.mean(s.volume_nm3)), run.settings.temperature_k
    eh = einstein_helfand(s.com_nm[:, ions], s.molecule_charge_e[ions], volume, temp, dt, st.blocks)
    charge = {n: float(s.molecule_charge_e[s.molecule_name.index(n)]) for n in names}
    counts = {charge[n]: s.molecule_name.count(n) for n in names if abs(charge[n]) > 1e-9}
    d_by_q = {charge[n]: diffusion[n].value for n in names if abs(charge[n]) > 1e-9}
    ne = nernst_einstein(d_by_q, counts, volume, temp)
    ne_err = nernst_einstein({charge[n]: diffusion[n].error for n in names if abs(charge[n]) > 1e-9},
                             counts, volume, temp)
    values["conductivity_einstein_helfand_s_m"] = eh
    values["conductivity_nernst_einstein_s_m"] = Estimate(ne, ne_err, "from the uncorrected D's")
    ratio = eh.value / ne
    values["conductivity_ratio_eh_ne"] = Estimate(ratio, abs(ratio) * math.hypot(eh.error / eh.value, ne_err / ne),
                                                  "Einstein-Helfand / Nernst-Einstein")


def _dielectric(run: Run, s: Series, st: AnalysisSettings) -> dict[str, Estimate]:
    from polcg.md.electronic import background_permittivity

    eps_inf = background_permittivity(run)
    eps = dielectric_constant(s.dipole_e_nm, float(np.mean(s.volume_nm3)), run.settings.temperature_k,
                              eps_inf.value)
    out = {"dielectric_constant": Estimate(eps.value, math.hypot(eps.error, eps_inf.error),
                                           f"eps_inf {eps_inf.value:.4g} ({eps_inf.detail}); {eps.detail}")}
    out["dielectric_background"] = eps_inf
    return out


def _hvap(run: Run, state: np.ndarray, st: AnalysisSettings, values: dict, notes: list) -> None:
    from polcg.md.gas import GasSettings, gas_pair_energy

    if run.composition.n_water or not run.composition.n_pairs:
        notes.append("heat of vaporisation is computed for the neat ionic liquid only (x = 0)")
        return
    temp = run.settings.temperature_k
    gas = GasSettings(temperature_k=temp, copies=st.gas_copies, production_ps=st.gas_production_ps,
                      timestep_fs=run.settings.timestep_fs, seed=run.settings.seed)
    u_gas = gas_pair_energy(run.model, gas, run.directory / "analysis", st.platform)
    u_liq = block_average(state["potential_kj_mol"] / run.settings.n_pairs)
    rt = KB_KJ_MOL_K * temp
    values["hvap_kj_mol"] = Estimate(u_gas.value - u_liq.value + rt, math.hypot(u_gas.error, u_liq.error),
                                     f"U_gas {u_gas.value:.2f} ({u_gas.detail}), U_liq/pair {u_liq.value:.2f}, "
                                     f"RT {rt:.3f} kJ/mol")
    values["gas_pair_energy_kj_mol"] = u_gas


def _provenance(run: Run, st: AnalysisSettings) -> dict:
    import mdtraj
    import openmm

    import polcg

    return {"polcg": polcg.__version__, "openmm": openmm.version.full_version, "mdtraj": mdtraj.__version__,
            "model_sha256": run.model.sha256(), "settings": asdict(st),
            "segments": [dcd.name for dcd, _ in run.segments]}
