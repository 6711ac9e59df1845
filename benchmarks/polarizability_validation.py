"""Shipped ion and bead polarizabilities against additive atomic polarizabilities and a CG model.

Reads the records in qm_jobs/polarizability/ and compares
* α_ion with the sums of CL&Pol atomic polarizabilities (Heid, Szabadi, Schröder, PCCP 2018, 20,
  10992; halides J. Chem. Phys. 2018, 149, 044302; values as read from paduagroup/clandpol
  alpha.ff in ../shared/reference/science-notes.md §6.1) and with the SAPT-FF sums of the same table;
* α_bead with the same atomic sums over each bead's atoms, and, for [C4mim]+, with the bead α
  of the ESPResSo Drude-CG [C4mim][PF6] model (ring 5.693, methyl 2.103, butyl 7.409 Å³;
  science-notes §3.2; the ring/methyl/butyl mapping is the one of our library).

    python benchmarks/polarizability_validation.py --out benchmarks/results/polarizability_validation.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rdkit import Chem

from polcg.jobs.store import write_json_atomic
from polcg.polarizabilities import load_shipped
from polcg.structure.library import load_library

# CL&Pol atomic polarizabilities (Å³) by type; H lumped per H atom
CLANDPOL = {"C_ar": 1.122, "N_ar": 1.208, "C_sp3": 1.016, "H": 0.323, "B": 0.578, "F": 0.625, "P": 1.237,
            "Cl": 4.40, "N_no3": 1.698, "O_no3": 1.144, "N_amm": 1.208}
SAPT_ION = {"C4mim": 16.65, "C2mim": 13.17, "BF4": 3.76, "PF6": 6.15, "NO3": 5.65}
ESPRESSO_C4MIM = {"IM": 5.693, "ME": 2.103, "BU": 7.409}


def clandpol_type(atom: Chem.Atom, ion: str) -> str | None:
    sym = atom.GetSymbol()
    if sym in ("H", "B", "F", "P", "Cl"):
        return sym
    if ion == "NO3":
        return {"N": "N_no3", "O": "O_no3"}.get(sym)
    if sym == "C":
        return "C_ar" if atom.GetIsAromatic() else "C_sp3"
    if sym == "N":
        return "N_ar" if atom.GetIsAromatic() else ("N_amm" if atom.GetFormalCharge() == 1 else None)
    return None


def additive(entry) -> list[float] | None:
    """CL&Pol sums per bead (library mapping), or None when an atom type has no value."""
    mol = Chem.AddHs(Chem.MolFromSmiles(entry.smiles))
    types = [clandpol_type(a, entry.name) for a in mol.GetAtoms()]
    if None in types:
        return None
    lib = load_library()
    beads = lib.beads(entry, list(range(mol.GetNumAtoms())))
    return [sum(CLANDPOL[types[i]] for i in b.atoms) for b in beads]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/polarizability_validation.json"))
    args = p.parse_args(argv)
    rows = []
    for entry in load_library():
        rec = load_shipped(entry.name)
        if rec is None:
            continue
        add = additive(entry)
        row = {"ion": entry.name, "alpha_iso_angstrom3": rec["alpha_iso_angstrom3"],
               "anisotropy_angstrom3": rec["anisotropy_angstrom3"],
               "clandpol_sum_angstrom3": sum(add) if add else None, "sapt_ff_sum_angstrom3": SAPT_ION.get(entry.name),
               "beads": [{"name": b["name"], "alpha_angstrom3": b["alpha_angstrom3"],
                          "clandpol_sum_angstrom3": add[k] if add else None,
                          "espresso_angstrom3": ESPRESSO_C4MIM.get(b["name"]) if entry.name == "C4mim" else None}
                         for k, b in enumerate(rec["beads"])],
               "method": f"{rec['method']['xc']}/{rec['method']['basis']}"}
        for ref in ("clandpol_sum_angstrom3", "sapt_ff_sum_angstrom3"):
            if row[ref]:
                row[ref.replace("_angstrom3", "_rel_diff")] = row["alpha_iso_angstrom3"] / row[ref] - 1.0
        rows.append(row)
        print(f"{entry.name:6s} α {row['alpha_iso_angstrom3']:6.3f}  CL&Pol {row['clandpol_sum_angstrom3'] or 0:6.2f}"
              f"  SAPT {row['sapt_ff_sum_angstrom3'] or 0:6.2f}  beads "
              + ", ".join(f"{b['name']} {b['alpha_angstrom3']:.2f}/{b['clandpol_sum_angstrom3'] or 0:.2f}"
                          for b in row["beads"]))
    write_json_atomic(args.out, {"benchmark": "polarizability_validation", "records": rows})


if __name__ == "__main__":
    main()
