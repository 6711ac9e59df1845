"""The README example's wall time at several git revisions, side by side in one run.

Each revision is checked out into a temporary worktree and the README command runs from it
(`python -m polcg charges examples/clusters/etnh3_no3_4.xyz --xc HF --basis 6-31G --eta 2`, with the
worktree's `src` first on PYTHONPATH and an empty job store), the revisions alternating for
`--repeat` rounds so that a machine getting busier or quieter affects them alike. Writes JSON: every
run's wall time (the process's, start to exit), each revision's median, the ratios to the first
revision, and the largest atom / ion charge and energy differences from the first revision's result.

    python benchmarks/readme_revisions.py --revs 8d358c3,HEAD --repeat 2 \\
        --out benchmarks/results/readme_revisions.json

Run it on an otherwise idle machine: the figure is a wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["charges", "examples/clusters/etnh3_no3_4.xyz", "--xc", "HF", "--basis", "6-31G", "--eta", "2"]


def worktree(rev: str, base: Path) -> tuple[str, Path]:
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", rev], check=True, capture_output=True,
                         text=True).stdout.strip()
    path = base / sha[:12]
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), sha], check=True,
                   capture_output=True)
    return sha, path


def run_once(tree: Path, scratch: Path) -> dict:
    work, out = scratch / "work", scratch / "charges.json"
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "polcg", *COMMAND, "--workdir", str(work), "--json", str(out)],
                          cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: the README command failed ({proc.returncode}): {proc.stderr[-500:]}")
    return {"wall_s": wall, "result": json.loads(out.read_text())}


def differences(a: dict, b: dict) -> dict:
    atoms = max(abs(x - y) for x, y in zip(a["atom_charges"], b["atom_charges"]))
    ions = max(abs(x["charge"] - y["charge"]) for x, y in zip(a["ions"], b["ions"]))
    return {"max_atom_charge_diff_e": atoms, "max_ion_charge_diff_e": ions,
            "energy_diff_kcal_mol": (a["energy_hartree"] - b["energy_hartree"]) * 627.509474}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--revs", required=True, help="comma-separated git revisions; the first is the reference")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="polcg_revs_"))
    trees = [worktree(r, base) for r in a.revs.split(",")]
    runs: dict[str, list[dict]] = {sha: [] for sha, _ in trees}
    try:
        for _ in range(a.repeat):
            for sha, tree in trees:
                runs[sha].append(run_once(tree, base / f"scratch_{sha[:12]}"))
                print(f"{sha[:12]}: {runs[sha][-1]['wall_s']:.1f} s", flush=True)
    finally:
        for _, tree in trees:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    first = trees[0][0]
    rows = []
    for rev, (sha, _) in zip(a.revs.split(","), trees):
        walls = [r["wall_s"] for r in runs[sha]]
        rows.append({"rev": rev, "sha": sha, "wall_s": walls, "median_wall_s": statistics.median(walls),
                     "over_first": statistics.median(walls) / statistics.median(r["wall_s"] for r in runs[first]),
                     "vs_first": differences(runs[sha][-1]["result"], runs[first][-1]["result"])})
    doc = {"benchmark": "readme_revisions", "command": "polcg " + " ".join(COMMAND), "repeat": a.repeat,
           "machine": {"platform": platform.platform(), "cores": os.cpu_count(), "loadavg_end": os.getloadavg()},
           "rows": rows}
    a.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    for r in rows:
        print(f"{r['rev']}: median {r['median_wall_s']:.1f} s ({r['over_first']:.3f} of the first); {r['vs_first']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
