#!/usr/bin/env python
"""Regenerate the ionic-liquid example clusters in ``examples/clusters/``.

These geometries are polcg's shipped examples, its test inputs and the
reference systems for measuring GEBF fragmentation error against
full-cluster DFT.  They are *not* global minima; they are realistic,
clash-free, compact, charge-neutral 1:1 clusters with liquid-like
cation-anion contacts.

Method (every step is seeded, so a given ``--seed`` reproduces the files,
up to floating-point/threading noise in the xTB step, unless the
``--xtb-time`` safety stop fires):

1. **Ions.**  Each ion is embedded from SMILES with RDKit ETKDGv3 (several
   conformers) and optimised with MMFF94 (UFF where MMFF lacks parameters,
   i.e. BF4-).  Every ion copy in a cluster gets a conformer drawn at random
   from those within 3 kcal/mol of the lowest one.  Partial charges for the
   packing model are GFN2-xTB Mulliken charges of the isolated ion.
2. **Packing.**  Ion centres are put on a rock-salt (alternating
   cation/anion) cubic lattice whose spacing corresponds to a liquid density
   of 1.2 g/cm3; the 2N sites nearest a random point are used (N of each
   parity, so the cluster is neutral and alternating).  Each ion gets the
   least-clashing of 200 random orientations; if any contact is still
   closer than 0.75x the Lennard-Jones sigma the lattice is expanded by 5 %
   and the placement repeated.
3. **Rigid-body minimisation.**  Ions are kept rigid and their positions and
   orientations minimised (scipy L-BFGS, analytic gradients) under a simple
   intermolecular force field: Coulomb between the xTB charges plus
   Lennard-Jones 12-6 with OPLS/CL&P-like element parameters (polar H on N
   gets a small sigma so N-H...O hydrogen bonds can form).  This compacts the
   cluster and creates the contacts.
4. **GFN2-xTB relaxation** (tblite, all atoms flexible, total charge 0,
   scipy L-BFGS on energy and analytic gradient) in the ALPB implicit
   solvent model, which stands in for the surrounding liquid: acetone
   (eps = 20.7) for the aprotic imidazolium salts, water for the protic
   ethylammonium nitrate, whose liquid has a water-like three-dimensional
   H-bond network (``--solvent`` overrides both; ``--solvent none`` = gas
   phase).  At most ``--xtb-steps`` L-BFGS iterations and ``--xtb-budget`` /
   n_atoms gradient evaluations are spent (safety stop ``--xtb-time``
   seconds), so the larger clusters are only partially relaxed: enough to
   remove clashes and form the contacts.  A flat-bottom restraint (inactive
   unless an X-H bond stretches by more than 0.25 A) guards against proton
   transfer from ethylammonium to nitrate, so every ion keeps its covalent
   identity.  The 30-pair droplet ``c4mim_bf4_30`` stops after step 3
   (rigid ions, force-field packed).

   Why a continuum: gas-phase GFN2-xTB over-binds the anions to the ring.
   It puts Cl- on top of the imidazolium C2 at Cl...C2 = 2.55 A and an F of
   BF4- at F...C2 = 2.58 A, and it gives N-H...O(nitrate) = 1.61 A with
   N...O = 2.66 A.  With ALPB(acetone) the anions bind through C2-H...Cl
   (2.3-2.4 A) and C-H...F (2.2-2.5 A), with no heavy-atom contact below
   2.8 A.  For EAN, ALPB(acetone) still gives N-H...O = 1.71-1.79 A
   (N...O 2.73 A), whereas ALPB(water) gives 1.75-1.95 A (N...O >= 2.74 A),
   close to the liquid's values.

Clusters of one or two ion pairs (and the pairs of
``separated_etnh3_no3_3``) are built from ``--starts`` independent seeds
(seed, seed+1, ...) and the lowest-energy xTB result is kept.

``separated_etnh3_no3_3`` is three independently built and xTB-relaxed
EtNH3+ NO3- ion pairs, randomly rotated and placed on a triangle scaled so
that the closest atom-atom distance between any two pairs is 16 A.

Requirements: rdkit, numpy, scipy and **tblite** (``pip install tblite``;
a development-only tool, not a polcg dependency).  Without tblite the script
stops with a message.

Usage::

    python examples/build_clusters.py                 # all clusters
    python examples/build_clusters.py --only c4mim_bf4_4 etnh3_no3_2
    python examples/build_clusters.py --check         # validate existing files

``--check`` (also run after building) perceives connectivity with RDKit
``rdDetermineBonds.DetermineConnectivity`` and verifies that the fragments
are exactly the expected ions, then reports the closest intermolecular
H...X and heavy...heavy contacts and the closest distance between
neighbouring ion pairs (cations matched to anions by a minimum-distance
assignment).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, rdDetermineBonds
from scipy.optimize import linear_sum_assignment, minimize
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

RDLogger.DisableLog("rdApp.*")

HERE = Path(__file__).resolve().parent
OUTDIR = HERE / "clusters"
BOHR = 0.529177210903  # A
HARTREE_KCAL = 627.509474
COULOMB_KCAL = 332.0637  # kcal/mol * A / e^2
AVOGADRO = 6.02214076e23

# ---------------------------------------------------------------------------
# systems
# ---------------------------------------------------------------------------
# name -> (cation SMILES, anion SMILES, label, ALPB solvent for the xTB step)
SYSTEMS = {
    "etnh3_no3": ("CC[NH3+]", "[O-][N+](=O)[O-]", "[EtNH3]+ [NO3]-", "water"),
    "c1mim_cl": ("C[n+]1ccn(C)c1", "[Cl-]", "[C1mim]+ Cl-", "acetone"),
    "c2mim_bf4": ("CCn1cc[n+](C)c1", "F[B-](F)(F)F", "[C2mim]+ [BF4]-", "acetone"),
    "c4mim_bf4": ("CCCCn1cc[n+](C)c1", "F[B-](F)(F)F", "[C4mim]+ [BF4]-", "acetone"),
}

# name -> (system, number of ion pairs, run xTB?)
CLUSTERS = {}
for _n in (2, 4, 6):
    CLUSTERS[f"etnh3_no3_{_n}"] = ("etnh3_no3", _n, True)
for _n in (2, 4):
    CLUSTERS[f"c1mim_cl_{_n}"] = ("c1mim_cl", _n, True)
    CLUSTERS[f"c2mim_bf4_{_n}"] = ("c2mim_bf4", _n, True)
for _n in (1, 2, 4, 6, 8):
    CLUSTERS[f"c4mim_bf4_{_n}"] = ("c4mim_bf4", _n, True)
CLUSTERS["c4mim_bf4_30"] = ("c4mim_bf4", 30, False)
SEPARATED = "separated_etnh3_no3_3"
ALL_NAMES = list(CLUSTERS) + [SEPARATED]

# Lennard-Jones (sigma / A, epsilon / kcal mol-1), OPLS-AA / CL&P-like.
LJ = {
    "H": (2.50, 0.030),    # H on carbon
    "HP": (1.10, 0.020),   # polar H (on N / O)
    "C": (3.50, 0.066),
    "N": (3.25, 0.170),
    "O": (2.96, 0.210),
    "F": (3.12, 0.061),
    "B": (3.58, 0.095),
    "Cl": (3.65, 0.150),
}


# ---------------------------------------------------------------------------
# ions
# ---------------------------------------------------------------------------
@dataclass
class Ion:
    smiles: str
    charge: int
    symbols: list
    numbers: np.ndarray
    masses: np.ndarray
    conformers: list          # list of (n,3) arrays, centred on centre of mass
    q: np.ndarray             # xTB Mulliken charges of the isolated ion
    sigma: np.ndarray
    eps: np.ndarray
    xh_bonds: list            # (i, j, r0) covalent bonds to hydrogen
    formula: str = ""


def _formula(symbols):
    c = Counter(symbols)
    return "".join(f"{el}{c[el] if c[el] > 1 else ''}" for el in sorted(c))


def _require_tblite():
    try:
        from tblite.interface import Calculator  # noqa: F401
    except ImportError:
        sys.exit(
            "build_clusters.py needs tblite (GFN2-xTB): `pip install tblite`.\n"
            "It is a development tool only, not a polcg dependency."
        )


def xtb_calculator(numbers, pos_ang, charge, method="GFN2-xTB", solvation=None):
    from tblite.interface import Calculator

    calc = Calculator(method, np.asarray(numbers),
                      np.asarray(pos_ang) / BOHR, charge=float(charge), uhf=0)
    calc.set("verbosity", 0)
    if solvation is not None:
        calc.add(*solvation)
    return calc


def build_ion(smiles, seed, nconf=12, ewin=3.0):
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    charge = Chem.GetFormalCharge(mol)
    n = mol.GetNumAtoms()
    if n == 1:
        confs = [np.zeros((1, 3))]
    else:
        params = AllChem.ETKDGv3()
        params.randomSeed = seed
        cids = list(AllChem.EmbedMultipleConfs(mol, numConfs=nconf, params=params))
        if AllChem.MMFFHasAllMoleculeParams(mol):
            res = AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=2000)
        else:
            res = AllChem.UFFOptimizeMoleculeConfs(mol, maxIters=2000)
        energies = np.array([e for _, e in res])
        keep = [cid for cid, e in zip(cids, energies) if e - energies.min() <= ewin]
        confs = [mol.GetConformer(c).GetPositions() for c in keep]
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()])
    masses = np.array([a.GetMass() for a in mol.GetAtoms()])
    confs = [c - masses @ c / masses.sum() for c in confs]
    # xTB Mulliken charges of the isolated ion (first conformer)
    if n == 1:
        q = np.array([float(charge)])
    else:
        calc = xtb_calculator(numbers, confs[0], charge)
        q = np.asarray(calc.singlepoint().get("charges"))
        q += (charge - q.sum()) / n
    sigma, eps, xh = [], [], []
    for a in mol.GetAtoms():
        key = a.GetSymbol()
        if key == "H" and a.GetNeighbors()[0].GetSymbol() in ("N", "O"):
            key = "HP"
        sigma.append(LJ[key][0])
        eps.append(LJ[key][1])
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        if "H" in (symbols[i], symbols[j]):
            xh.append((i, j, float(np.linalg.norm(confs[0][i] - confs[0][j]))))
    return Ion(smiles, charge, symbols, numbers, masses, confs, q,
               np.array(sigma), np.array(eps), xh, _formula(symbols))


# ---------------------------------------------------------------------------
# cluster bookkeeping
# ---------------------------------------------------------------------------
@dataclass
class Cluster:
    ions: list                      # Ion per molecule
    body: list                      # body-frame coordinates per molecule
    com: np.ndarray                 # (m,3)
    rot: list = field(default_factory=list)  # Rotation per molecule

    @property
    def mol_index(self):
        return np.concatenate([np.full(len(b), k) for k, b in enumerate(self.body)])

    def coords(self):
        return np.vstack([r.apply(b) + c for r, b, c in zip(self.rot, self.body, self.com)])

    def cat(self, attr):
        return np.concatenate([getattr(i, attr) for i in self.ions])

    def symbols(self):
        return [s for i in self.ions for s in i.symbols]


class PairModel:
    """Intermolecular Coulomb + LJ 12-6 energy/gradient (kcal/mol, A)."""

    def __init__(self, cl: Cluster):
        q = cl.cat("q")
        sig = cl.cat("sigma")
        eps = cl.cat("eps")
        mi = cl.mol_index
        iu = np.triu_indices(len(q), 1)
        inter = mi[iu[0]] != mi[iu[1]]
        self.i, self.j = iu[0][inter], iu[1][inter]
        self.qq = COULOMB_KCAL * q[self.i] * q[self.j]
        self.sig = 0.5 * (sig[self.i] + sig[self.j])
        self.eps = np.sqrt(eps[self.i] * eps[self.j])
        self.n = len(q)

    def __call__(self, x):
        d = x[self.i] - x[self.j]
        r2 = np.einsum("ij,ij->i", d, d)
        r = np.sqrt(r2)
        s6 = (self.sig * self.sig / r2) ** 3
        e = self.qq / r + 4 * self.eps * (s6 * s6 - s6)
        dedr = -self.qq / r2 + 4 * self.eps * (-12 * s6 * s6 + 6 * s6) / r
        f = (dedr / r)[:, None] * d
        g = np.zeros((self.n, 3))
        np.add.at(g, self.i, f)
        np.add.at(g, self.j, -f)
        return e.sum(), g

    def clash(self, x):
        d = np.linalg.norm(x[self.i] - x[self.j], axis=1)
        return np.min(d / self.sig)


def _skew(v):
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])


def _dR(w):
    """d R(w) / d w_k for the exponential map (Gallego & Yezzi 2015)."""
    th2 = w @ w
    R = Rotation.from_rotvec(w).as_matrix()
    eye = np.eye(3)
    if th2 < 1e-14:
        return [_skew(eye[k]) @ R for k in range(3)]
    W = _skew(w)
    return [(w[k] * W + _skew(np.cross(w, (eye - R) @ eye[k]))) / th2 @ R for k in range(3)]


def rigid_minimise(cl: Cluster, model: PairModel, rounds=6, maxiter=400, log=None):
    m = len(cl.body)
    sizes = [len(b) for b in cl.body]
    offs = np.cumsum([0] + sizes)

    def unpack(p):
        p = p.reshape(m, 6)
        return p[:, :3], p[:, 3:]

    def coords(p):
        t, w = unpack(p)
        return np.vstack([Rotation.from_rotvec(w[k]).apply(cl.body[k]) + t[k] for k in range(m)])

    def fun(p):
        x = coords(p)
        e, g = model(x)
        t, w = unpack(p)
        gp = np.zeros((m, 6))
        for k in range(m):
            gk = g[offs[k]:offs[k + 1]]
            gp[k, :3] = gk.sum(0)
            b = cl.body[k]
            for a, M in enumerate(_dR(w[k])):
                gp[k, 3 + a] = np.sum(gk * (b @ M.T))
        return e, gp.ravel()

    e_prev = None
    for it in range(rounds):
        # rebase: body frames absorb the current orientation, so w starts at 0
        cl.body = [r.apply(b) for r, b in zip(cl.rot, cl.body)]
        cl.rot = [Rotation.identity() for _ in range(m)]
        p0 = np.hstack([cl.com, np.zeros((m, 3))]).ravel()
        res = minimize(fun, p0, jac=True, method="L-BFGS-B",
                       options={"maxiter": maxiter, "gtol": 1e-3})
        t, w = unpack(res.x)
        cl.com = t.copy()
        cl.rot = [Rotation.from_rotvec(wk) for wk in w]
        if log:
            log(f"    rigid round {it}: E = {res.fun:10.2f} kcal/mol, nit = {res.nit}")
        if e_prev is not None and abs(e_prev - res.fun) < 0.05:
            break
        e_prev = res.fun
    return res.fun


def pack(ions_pair, npairs, rng, density=1.2, log=None):
    """Rock-salt packing, random orientations, expansion until clash-free."""
    cat, an = ions_pair
    mpair = cat.masses.sum() + an.masses.sum()
    vpair = mpair / (density * AVOGADRO) * 1e24  # A^3
    a0 = (vpair / 2) ** (1 / 3)
    # integer lattice, parity = cation (even) / anion (odd)
    L = int(np.ceil((2 * npairs) ** (1 / 3))) + 2
    g = np.arange(-L, L + 1)
    sites = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    centre = rng.uniform(0, 1, 3)
    dist = np.linalg.norm(sites - centre, axis=1)
    parity = sites.sum(1) % 2
    order = np.argsort(dist)
    csites = [sites[k] for k in order if parity[k] == 0][:npairs]
    asites = [sites[k] for k in order if parity[k] == 1][:npairs]
    site_list, ion_list = [], []
    for k in range(npairs):  # interleave so molecules alternate cation/anion
        site_list += [csites[k], asites[k]]
        ion_list += [cat, an]
    site_arr = np.array(site_list, float)
    site_arr -= site_arr.mean(0)
    body = [ion.conformers[rng.integers(len(ion.conformers))] for ion in ion_list]
    cl = Cluster(ion_list, body, a0 * site_arr,
                 [Rotation.identity() for _ in ion_list])
    model = PairModel(cl)
    scale = 1.0
    for _attempt in range(40):
        cl.com = scale * a0 * site_arr
        placed = np.zeros(len(ion_list), bool)
        # place ions nearest the centre first
        for k in np.argsort(np.linalg.norm(site_arr, axis=1)):
            best, best_r = -1.0, None
            others = [j for j in range(len(ion_list)) if placed[j]]
            xo = (np.vstack([cl.rot[j].apply(cl.body[j]) + cl.com[j] for j in others])
                  if others else None)
            so = (np.concatenate([ion_list[j].sigma for j in others]) if others else None)
            for r in Rotation.random(200, random_state=rng.integers(2**31)):
                if xo is None:
                    best_r = r
                    break
                xk = r.apply(cl.body[k]) + cl.com[k]
                sg = 0.5 * (ion_list[k].sigma[:, None] + so[None, :])
                c = np.min(cdist(xk, xo) / sg)
                if c > best:
                    best, best_r = c, r
            cl.rot[k] = best_r
            placed[k] = True
        c = model.clash(cl.coords())
        if c > 0.75:
            break
        scale *= 1.05
    if log:
        log(f"    packing: lattice a = {a0:.2f} A x {scale:.2f}, min r/sigma = {c:.2f}")
    return cl, model


# ---------------------------------------------------------------------------
# xTB relaxation
# ---------------------------------------------------------------------------
def xtb_relax(numbers, x0, xh_bonds, max_steps=300, max_evals=400, max_time=600.0, log=None,
              k_restr=0.5, slack=0.25, method="GFN2-xTB", solvation=None):
    """Partial GFN2-xTB relaxation (L-BFGS), returns coordinates in A and info."""
    calc = xtb_calculator(numbers, x0, 0, method, solvation)
    state = {"res": None, "n": 0, "best": (np.inf, x0.copy(), np.inf), "erestr": 0.0}
    t0 = time.time()
    ib = np.array([b[0] for b in xh_bonds], int)
    jb = np.array([b[1] for b in xh_bonds], int)
    r0 = np.array([b[2] for b in xh_bonds]) / BOHR + slack / BOHR

    class _Stop(Exception):
        pass

    def fun(pflat):
        if time.time() - t0 > max_time or state["n"] >= max_evals:
            raise _Stop
        pos = pflat.reshape(-1, 3)
        calc.update(pos)
        state["res"] = calc.singlepoint(state["res"], copy=False)
        e = state["res"].get("energy")
        g = np.array(state["res"].get("gradient"))
        # flat-bottom X-H restraint (inactive for intact ions)
        er = 0.0
        if len(ib):
            d = pos[ib] - pos[jb]
            r = np.linalg.norm(d, axis=1)
            ex = np.clip(r - r0, 0, None)
            er = k_restr * np.sum(ex ** 2)
            f = (2 * k_restr * ex / r)[:, None] * d
            np.add.at(g, ib, f)
            np.add.at(g, jb, -f)
        state["n"] += 1
        gmax = np.abs(g).max()
        if e + er < state["best"][0]:
            state["best"] = (e + er, pos.copy(), gmax)
            state["erestr"] = er
        return e + er, g.ravel()

    nit = 0
    try:
        res = minimize(fun, (x0 / BOHR).ravel(), jac=True, method="L-BFGS-B",
                       options={"maxiter": max_steps, "gtol": 4.5e-4, "maxcor": 30})
        nit, conv = res.nit, bool(res.success)
    except _Stop:
        conv = False
    e, pos, gmax = state["best"]
    info = dict(energy=e, nit=nit, nevals=state["n"], converged=conv, gmax=gmax,
                erestr=state["erestr"], time=time.time() - t0)
    if log:
        log(f"    xTB: E = {e:.6f} Eh, {state['n']} gradients, max|g| = {gmax:.2e} Eh/bohr, "
            f"{'converged' if conv else 'partial'}, restraint E = {state['erestr']:.1e}, "
            f"{info['time']:.0f} s")
    return pos * BOHR, info


# ---------------------------------------------------------------------------
# output and checks
# ---------------------------------------------------------------------------
def write_xyz(path, symbols, x, comment):
    with open(path, "w") as fh:
        fh.write(f"{len(symbols)}\n{comment}\n")
        for s, (a, b, c) in zip(symbols, x):
            fh.write(f"{s:<2s} {a:14.8f} {b:14.8f} {c:14.8f}\n")


def read_xyz(path):
    lines = Path(path).read_text().splitlines()
    n = int(lines[0])
    sym, x = [], []
    for ln in lines[2:2 + n]:
        p = ln.split()
        sym.append(p[0])
        x.append([float(v) for v in p[1:4]])
    return sym, np.array(x), lines[1]


def expected_formulas(name):
    if name == SEPARATED:
        sysname, n = "etnh3_no3", 3
    else:
        sysname, n = CLUSTERS[name][:2]
    cat, an = SYSTEMS[sysname][:2]
    fc = _formula([a.GetSymbol() for a in Chem.AddHs(Chem.MolFromSmiles(cat)).GetAtoms()])
    fa = _formula([a.GetSymbol() for a in Chem.AddHs(Chem.MolFromSmiles(an)).GetAtoms()])
    return fc, fa, n


def check_file(path, name):
    sym, x, _ = read_xyz(path)
    fc, fa, n = expected_formulas(name)
    block = f"{len(sym)}\n\n" + "\n".join(
        f"{s} {a:.8f} {b:.8f} {c:.8f}" for s, (a, b, c) in zip(sym, x))
    mol = Chem.MolFromXYZBlock(block)
    rdDetermineBonds.DetermineConnectivity(mol)
    frags = Chem.GetMolFrags(mol)
    forms = [_formula([sym[i] for i in f]) for f in frags]
    ok = Counter(forms) == Counter({fc: n, fa: n}) if fc != fa else False
    mi = np.empty(len(sym), int)
    for k, f in enumerate(frags):
        mi[list(f)] = k
    D = cdist(x, x)
    inter = mi[:, None] != mi[None, :]
    isH = np.array([s == "H" for s in sym])
    hx = inter & (isH[:, None] ^ isH[None, :])
    hh = inter & (~isH[:, None]) & (~isH[None, :])
    min_hx = D[hx].min() if hx.any() else np.nan
    min_hh = D[hh].min() if hh.any() else np.nan
    # ion pairs: min-distance assignment of cations to anions
    cats = [k for k, f in enumerate(forms) if f == fc]
    ans = [k for k, f in enumerate(forms) if f == fa]
    fd = np.full((len(frags), len(frags)), np.inf)
    for a in range(len(frags)):
        for b in range(len(frags)):
            if a != b:
                fd[a, b] = D[np.ix_(list(frags[a]), list(frags[b]))].min()
    pair_d = nb = None
    if ok:
        ci, aj = linear_sum_assignment(fd[np.ix_(cats, ans)])
        pairs = [(cats[i], ans[j]) for i, j in zip(ci, aj)]
        pair_d = [fd[c, a] for c, a in pairs]
        if len(pairs) > 1:
            nb = []
            for p in pairs:
                nb.append(min(min(fd[u, v] for u in p for v in q) for q in pairs if q != p))
    # density estimate: mass inside a sphere around the centre of mass whose
    # radius is 60 % of the distance to the outermost atom (large clusters only)
    dens = None
    if len(sym) >= 300:
        m = np.array([Chem.GetPeriodicTable().GetAtomicWeight(e) for e in sym])
        xc = x - m @ x / m.sum()
        r = np.linalg.norm(xc, axis=1)
        rc = 0.6 * r.max()
        dens = m[r < rc].sum() / AVOGADRO / (4 / 3 * np.pi * rc ** 3 * 1e-24)
    return dict(name=name, natoms=len(sym), nfrag=len(frags), ok=ok,
                min_hx=min_hx, min_heavy=min_hh, pair_contact=pair_d, neighbour=nb,
                density=dens)


def report(r):
    pc = r["pair_contact"]
    nb = r["neighbour"]
    s = (f"{r['name']:<24s} {r['natoms']:4d} atoms  {r['nfrag']:3d} frags "
         f"{'OK ' if r['ok'] else 'BAD'}  min H..X {r['min_hx']:.2f}  "
         f"min heavy..heavy {r['min_heavy']:.2f}")
    if pc:
        s += f"  intra-pair contact {min(pc):.2f}-{max(pc):.2f}"
    if nb:
        s += f"  neighbour-pair closest {min(nb):.2f}-{max(nb):.2f}"
    if r.get("density"):
        s += f"  core density {r['density']:.2f} g/cm3"
    return s


# ---------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------
def _ions_for(sysname, seed, cache):
    if sysname not in cache:
        cs, as_ = SYSTEMS[sysname][:2]
        cache[sysname] = (build_ion(cs, seed), build_ion(as_, seed + 1))
    return cache[sysname]


def _solvent(args, sysname):
    return args.solvent or SYSTEMS[sysname][3]


def _solvation(args, sysname):
    solvent = _solvent(args, sysname)
    if solvent.lower() in ("none", "gas"):
        return None
    return ("alpb-solvation", solvent)


def build_cluster(sysname, npairs, do_xtb, seed, args, cache, log):
    """Pack + rigid FF + xTB; small clusters (<= 2 pairs) keep the lowest-energy
    result of ``args.starts`` independent starts (seeds seed, seed+1, ...)."""
    nstart = args.starts if (do_xtb and npairs <= 2) else 1
    best = None
    for k in range(nstart):
        if nstart > 1 and log:
            log(f"    start {k + 1}/{nstart} (seed {seed + k})")
        res = _build_one(sysname, npairs, do_xtb, seed + k, args, cache, log)
        if best is None or res[3]["energy"] < best[3]["energy"]:
            best = res
    if best[3] is not None:
        best[3]["starts"] = nstart
    return best


def _build_one(sysname, npairs, do_xtb, seed, args, cache, log):
    rng = np.random.default_rng(seed)
    ions = _ions_for(sysname, args.seed, cache)
    cl, model = pack(ions, npairs, rng, log=log)
    e_rigid = rigid_minimise(cl, model, log=log)
    x = cl.coords()
    x -= x.mean(0)
    info = None
    if do_xtb:
        numbers = cl.cat("numbers")
        xh, off = [], 0
        for ion in cl.ions:
            xh += [(i + off, j + off, r) for i, j, r in ion.xh_bonds]
            off += len(ion.symbols)
        x, info = xtb_relax(numbers, x, xh, max_steps=args.xtb_steps,
                            max_evals=max(20, min(2 * args.xtb_steps, args.xtb_budget // len(x))),
                            max_time=args.xtb_time, log=log,
                            solvation=_solvation(args, sysname))
        x -= x.mean(0)
    return cl, x, e_rigid, info


def method_string(info, args, sysname):
    solv = "gas phase" if _solvation(args, sysname) is None else f"ALPB({_solvent(args, sysname)})"
    base = ("RDKit ETKDGv3/MMFF94(UFF for BF4) ions; rock-salt packing (1.2 g/cm3 lattice, "
            "expanded until clash-free) + rigid-body Coulomb/LJ minimisation")
    if info is None:
        return base + "; no xTB relaxation (rigid ions)"
    kind = "converged" if info["converged"] else f"partial, {info['nevals']} gradients"
    if info.get("starts", 1) > 1:
        kind += f", lowest-energy of {info['starts']} starts"
    return base + (f"; GFN2-xTB/{solv} (tblite) L-BFGS relaxation "
                   f"({kind}, max|grad| {info['gmax']:.1e} Eh/bohr)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2024, help="base random seed (default 2024)")
    ap.add_argument("--only", nargs="+", choices=ALL_NAMES, metavar="NAME",
                    help="build only these clusters: " + ", ".join(ALL_NAMES))
    ap.add_argument("--outdir", type=Path, default=OUTDIR)
    ap.add_argument("--xtb-steps", type=int, default=300,
                    help="max L-BFGS iterations of the xTB relaxation (default 300)")
    ap.add_argument("--xtb-budget", type=int, default=15000,
                    help="max xTB gradient evaluations x atoms per cluster, i.e. 62 "
                         "gradients for 240 atoms (default 15000; about 5 min for "
                         "240 atoms on 2 cores)")
    ap.add_argument("--xtb-time", type=float, default=900.0,
                    help="safety stop: max seconds of xTB per cluster (default 900); "
                         "runs that hit it are not reproducible")
    ap.add_argument("--solvent", default=None,
                    help="ALPB solvent for the xTB step of every cluster, or 'none' for gas "
                         "phase (default: water for EAN, acetone for the imidazolium salts)")
    ap.add_argument("--separation", type=float, default=16.0,
                    help=f"closest atom-atom distance between pairs in {SEPARATED} (A)")
    ap.add_argument("--starts", type=int, default=4,
                    help="independent starts for clusters of <= 2 ion pairs; the "
                         "lowest-energy xTB result is kept (default 4)")
    ap.add_argument("--check", action="store_true", help="only validate existing files")
    args = ap.parse_args(argv)
    names = args.only or ALL_NAMES
    log = lambda s: print(s, flush=True)  # noqa: E731

    if not args.check:
        _require_tblite()
        args.outdir.mkdir(parents=True, exist_ok=True)
        cache = {}
        for name in names:
            t0 = time.time()
            seed = args.seed + 1000 * (ALL_NAMES.index(name) + 1)
            log(f"[{name}] seed {seed}")
            if name == SEPARATED:
                sym, x, comment = build_separated(args, seed, cache, log)
            else:
                sysname, npairs, do_xtb = CLUSTERS[name]
                cl, x, e_rigid, info = build_cluster(sysname, npairs, do_xtb, seed, args, cache, log)
                sym = cl.symbols()
                label = SYSTEMS[sysname][2]
                comment = (f"{name}: {npairs} x {label}, {len(sym)} atoms, charge 0, mult 1; "
                           f"{method_string(info, args, sysname)}; "
                           f"examples/build_clusters.py --seed {args.seed} (cluster seed {seed})")
            write_xyz(args.outdir / f"{name}.xyz", sym, x, comment)
            log(f"    wrote {name}.xyz ({time.time() - t0:.0f} s)")

    bad = 0
    for name in names:
        p = args.outdir / f"{name}.xyz"
        if not p.exists():
            log(f"{name}: missing")
            bad += 1
            continue
        r = check_file(p, name)
        bad += not r["ok"]
        log(report(r))
    return 1 if bad else 0


def build_separated(args, seed, cache, log):
    rng = np.random.default_rng(seed)
    pairs = []
    for k in range(3):
        cl, x, _, info = build_cluster("etnh3_no3", 1, True, seed + 17 * (k + 1), args, cache, log)
        x = Rotation.random(random_state=rng.integers(2**31)).apply(x - x.mean(0))
        pairs.append((cl.symbols(), x, info))
    dirs = np.array([[np.cos(t), np.sin(t), 0.0] for t in 2 * np.pi * np.arange(3) / 3])

    def mind(s):
        xs = [p[1] + s * d for p, d in zip(pairs, dirs)]
        return min(cdist(xs[a], xs[b]).min() for a in range(3) for b in range(a + 1, 3))

    lo, hi = 0.0, 50.0
    for _ in range(60):  # bisection on the triangle size
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mind(mid) < args.separation else (lo, mid)
    s = hi
    sym = [a for p in pairs for a in p[0]]
    x = np.vstack([p[1] + s * d for p, d in zip(pairs, dirs)])
    x -= x.mean(0)
    gmax = max(p[2]["gmax"] for p in pairs)
    conv = all(p[2]["converged"] for p in pairs)
    comment = (f"{SEPARATED}: 3 x [EtNH3]+ [NO3]- ion pairs, {len(sym)} atoms, charge 0, mult 1; "
               f"each pair RDKit ETKDGv3/MMFF94 + GFN2-xTB/ALPB({_solvent(args, 'etnh3_no3')}) (tblite) relaxed "
               f"({'converged' if conv else 'partial'}, max|grad| {gmax:.1e} Eh/bohr, "
               f"lowest-energy of {args.starts} starts each), "
               f"placed on a triangle, closest inter-pair atom distance {mind(s):.2f} A; "
               f"examples/build_clusters.py --seed {args.seed} (cluster seed {seed})")
    return sym, x, comment


if __name__ == "__main__":
    sys.exit(main())
