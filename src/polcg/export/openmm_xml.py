"""OpenMM export: the serialized System (XML), a PDB topology with the start positions, and
the model file. `openmm.XmlSerializer.deserialize` + `app.PDBFile` restore the exact System."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polcg.export import ENGINES

if TYPE_CHECKING:
    from polcg.cg.model import CGModel
    from polcg.md.packing import Configuration


@ENGINES.register("openmm", help="System XML, PDB topology")
def write_openmm(model: CGModel, config: Configuration, out_dir: str | Path) -> dict[str, Path]:
    import openmm
    from openmm import app, unit

    from polcg.md.system import build_system

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    system, topology = build_system(model, config)
    paths = {"system": out / "system.xml", "topology": out / "topology.pdb"}
    paths["system"].write_text(openmm.XmlSerializer.serialize(system), encoding="utf-8")
    with open(paths["topology"], "w", encoding="utf-8") as fh:
        app.PDBFile.writeFile(topology, config.positions_nm * unit.nanometer, fh, keepIds=True)
    paths["model"] = model.save(out)
    return paths
