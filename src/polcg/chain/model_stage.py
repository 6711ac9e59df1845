"""Chain stage 2: the VaCG and Drude models from the largest cluster's GEBF charges.

The same builders as `polcg model build --kind vacg|drude --charges X`: VaCG with ε_IL = 1 (the
scan sets it), Drude with the shipped (or the configured) bead polarizabilities. Written to
`<out>/model/<kind>/model.json`.
"""

from __future__ import annotations

from pathlib import Path

from polcg.chain.config import ChainConfig
from polcg.chain.record import RECORD, file_sha256, inputs_key, read_record, write_record


def stage_dir(out: Path) -> Path:
    return Path(out) / "model"


def model_dir(out: Path, kind: str) -> Path:
    return stage_dir(out) / kind


def inputs(cfg: ChainConfig, out: Path) -> dict:
    """What determines the models; needs the charges stage's output."""
    from polcg.chain.charges_stage import largest_charges

    charges = largest_charges(out)
    files = {name: str(p) for name, p in (("charges", charges["file"]), ("params", cfg.cg.params),
                                           ("polarizability", cfg.drude.polarizability)) if p}
    return {"paths": files, "sha256": {k: file_sha256(p) for k, p in files.items()},
            "charges": {k: charges[k] for k in ("cluster", "pairs", "method")}, "cation": cfg.cation,
            "anion": cfg.anion, "models": list(cfg.models), "cg": plain(cfg.cg), "vacg": plain(cfg.vacg),
            "drude": plain(cfg.drude)}


def plain(section) -> dict:
    """A config section as JSON-able data (paths as text)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in section.__dict__.items()}


def stage_key(cfg: ChainConfig, out: Path) -> str:
    return inputs_key(inputs(cfg, out))


def is_done(cfg: ChainConfig, out: Path) -> bool:
    return read_record(stage_dir(out) / RECORD, stage_key(cfg, out)) is not None


def run(cfg: ChainConfig, out: Path) -> dict:
    ins = inputs(cfg, out)
    charges = ins["paths"]["charges"]
    outputs, summary = {}, {}
    for kind in cfg.models:
        model = build(cfg, kind, charges).with_provenance(chain={"config": str(cfg.path),
                                                                 "config_sha256": cfg.sha256})
        outputs[kind] = model.save(model_dir(out, kind))
        summary[kind] = {"sha256": model.sha256(),
                         "charges_e": {b.name: b.charge_e for b in model.bead_types}}
    write_record(stage_dir(out) / RECORD, ins, inputs_key(ins), outputs, summary)
    return summary


def build(cfg: ChainConfig, kind: str, charges: str):
    """The model `polcg model build --kind KIND --charges CHARGES` would build from this config."""
    from polcg.cg.builders import IonsSpec, build_drude, build_vacg
    from polcg.cg.model import Epsilon, Nonbonded

    ions = IonsSpec(cfg.cation, cfg.anion, cfg.cg.base, str(cfg.cg.params) if cfg.cg.params else None)
    switch = cfg.vacg.lj_switch_nm if kind == "vacg" else None
    nb = Nonbonded.from_options(cfg.cg.cutoff_nm, lj_switch_nm=switch)
    if kind == "vacg":
        eps_w = Epsilon(value=cfg.vacg.eps_w) if cfg.vacg.eps_w else None
        return build_vacg(ions, charges, cfg.vacg.water, Epsilon(value=1.0), eps_w, nb)
    d = cfg.drude
    return build_drude(ions, charges, str(d.polarizability) if d.polarizability else None, d.thole,
                       d.intermolecular_thole, d.kd_kj_mol_a2, d.drude_mass_u, nb)


def load(out: Path, kind: str):
    from polcg.cg.model import CGModel

    return CGModel.load(model_dir(out, kind))
