"""GPU check of polcg (issue 15, item 8), in one call on the GPU machine, within ~12 minutes.

Steps, each in its own process with a time limit (a step that overruns is killed and recorded as
timed out, with what it had finished; the others still run), the JSON rewritten after each:

  a  the `gpu` tests (`pytest -m gpu`), after a tiny GPU4PySCF probe (`qm.backends.probe_gpu`)
  b  GEBF (fast passes, η = 3) on the 8-pair [C4mim][BF4] cluster at M06-2X/6-31G** NPA, then the
     full-cluster job, each in its own process; largest ion-charge and energy errors against the
     targets (0.005 e, 1 kcal/mol)
  c  the 30-pair cluster: the isolated fragments (cheap level) and one embedding pass at M06-2X/6-31G**
     (GEBFSettings(cheap_passes=0, max_iter=1)), timed separately, with per-job progress, so a pass
     cut short by its limit is extrapolated from the jobs it finished; against the target of a whole
     30-pair GEBF run in <= 10 min
  d  VaCG [C4mim][PF6] ns/day at 10 000 pairs on OpenMM CUDA (`md_throughput.point`: polcg's own
     run and the bare OpenMM System; 10 000 steps, ~2 s at the measured ~4 µs/day, so that polcg's
     five reports and checkpoints per timing do not swamp it)

Usage. Here, first: `../shared/tools/gpu-wheels psutil` (psutil sizes polcg's worker layout and is
not in the GPU image: without it the `gpu` GEBF test fails, and this script's own steps fall back to
/proc/meminfo and say so in the JSON), then `python3 benchmarks/gpu_check.py --device cpu --smoke`.
On the GPU machine (device tool), on one warm machine, each call right after the last (/tmp is
kept only while the machine stays warm; if it was released in between, start over):

    status()   # budget_left_s: the start, the chunk calls and this one all count against it
    run(command="cat .gpu/c0/part* > /tmp/wheels.tar && ls -l /tmp/wheels.tar", carry=[".gpu/c0"])
    run(command="cat .gpu/c1/part* >> /tmp/wheels.tar && ls -l /tmp/wheels.tar", carry=[".gpu/c1"])
    ... one call per further chunk .gpu/cN, appending (>>) ...
    run(command="bash benchmarks/gpu_check.sh /tmp/wheels.tar", timeout_s=720)
    give_back()

With less than ~12.5 min of device time left, lower both: timeout_s = T and
`GPU_CHECK_TOTAL_S=<T - 15> bash benchmarks/gpu_check.sh /tmp/wheels.tar` (every limit shrinks alike).
gpu_check.sh installs the wheels into /tmp/site (--no-index), records nvidia-smi, runs this script
with what is left of GPU_CHECK_TOTAL_S (default 705 s) and prints the JSON; with $OUT set (the
device tool sets it) the JSON, nvidia-smi, the steps' logs and the tasks' own records (with atom
and ion charges) are copied there and come back. QM job stores stay under --workdir.
Directly:

    python3 benchmarks/gpu_check.py [--steps a,b,c,d] [--budget-s 690] [--out benchmarks/results/gpu_check.json]
    python3 benchmarks/gpu_check.py --device cpu --smoke     # the same logic on tiny inputs, 2-4 min on 2 cores

The time left is shared out so that every later step keeps its nominal limit (--limits), and time an
earlier step leaves unused goes to the next. Smoke mode: three separated EtNH3 NO3 pairs at HF/STO-3G
for b and c (two pairs in contact would make one subsystem, the whole cluster; the 4-pair cluster's
3-pair jobs take minutes on a busy 2-core machine), 200 pairs for 200 steps on the CPU platform for d;
its JSON goes to /tmp/polcg_gpu_check/ unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLUSTERS = ROOT / "examples" / "clusters"
TARGETS = {"max_ion_charge_error_e": 0.005, "energy_error_kcal_mol": 1.0, "gebf_30_pairs_wall_s": 600.0}
STEP_TASKS = {"a": ("a_probe", "a_pytest"), "b": ("b_gebf", "b_full"), "c": ("c_pass",), "d": ("d_md",)}
LIMITS = {  # nominal seconds per task; sums: 690 (GPU), 360 (smoke)
    "gpu": {"a_probe": 25, "a_pytest": 65, "b_gebf": 235, "b_full": 215, "c_pass": 80, "d_md": 70},
    "smoke": {"a_probe": 15, "a_pytest": 30, "b_gebf": 90, "b_full": 90, "c_pass": 90, "d_md": 45},
}
MARGIN_S = 5  # kept back for writing the JSON
RUNNING: list[subprocess.Popen] = []  # the task process now running (killed with its group on SIGTERM/SIGINT)


@dataclass(frozen=True)
class Inputs:
    gebf_cluster: str
    pass_cluster: str
    xc: str
    basis: str
    md_pairs: int
    md_steps: int


FULL = Inputs("c4mim_bf4_8.xyz", "c4mim_bf4_30.xyz", "M06-2X", "6-31G**", 10000, 10000)
SMOKE = Inputs("separated_etnh3_no3_3.xyz", "separated_etnh3_no3_3.xyz", "HF", "STO-3G", 200, 200)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="a,b,c,d")
    p.add_argument("--budget-s", type=float, help="seconds for all steps (default: the sum of their limits, 690)")
    p.add_argument("--out", type=Path)
    p.add_argument("--device", default="gpu", choices=("gpu", "cpu"))
    p.add_argument("--smoke", action="store_true", help="tiny inputs (the logic, not the figures)")
    p.add_argument("--limits", default="", help="override nominal task limits, e.g. b_gebf=300,c_pass=60")
    p.add_argument("--md-steps", type=int, help="timed MD steps (default 10000; smoke 200)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/polcg_gpu_check"))
    p.add_argument("--task", help=argparse.SUPPRESS)  # internal: run one task in this process
    p.add_argument("--task-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = args.out or (args.workdir / "gpu_check_smoke.json" if args.smoke
                            else ROOT / "benchmarks" / "results" / "gpu_check.json")
    return args


def inputs(args) -> Inputs:
    base = SMOKE if args.smoke else FULL
    return Inputs(**{**base.__dict__, "md_steps": args.md_steps or base.md_steps})


# --------------------------------------------------------------------------- tasks (child processes)

class Progress:
    """A task's record, rewritten (atomically) on every stage and job, so a killed task leaves it."""

    def __init__(self, path: Path):
        self.path, self.t0, self.data = path, time.perf_counter(), {"stages": [], "workarounds": []}

    def now(self) -> float:
        return round(time.perf_counter() - self.t0, 2)

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)

    def stage(self, name: str, njobs: int) -> None:
        self.data["stages"].append({"stage": name, "jobs": njobs, "start_s": self.now(), "done": 0,
                                    "end_s": None, "qm_s": 0.0, "by_natoms": {}})
        self.write()

    def job(self, job, result, cached: bool) -> None:
        s = self.data["stages"][-1]
        s["done"], s["end_s"], s["qm_s"] = s["done"] + 1, self.now(), round(s["qm_s"] + result.wall_s, 2)
        n = s["by_natoms"].setdefault(str(job.natoms), [0, 0.0])
        n[0], n[1] = n[0] + 1, round(n[1] + result.wall_s, 2)
        self.write()

    def finish(self, **fields) -> None:
        self.data.update(fields, done=True, inner_wall_s=self.now())
        self.write()


def memory_probe_fallback(progress: Progress) -> None:
    """polcg sizes its worker layout with psutil; where it is missing, read MemAvailable instead."""
    try:
        import psutil  # noqa: F401
        return
    except ImportError:
        pass
    import polcg.gebf.plan as plan
    import polcg.qm.cost as cost

    def meminfo_mb() -> float:
        line = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemAvailable"))
        return int(line.split()[1]) / 1e3

    cost.available_memory_mb = plan.available_memory_mb = meminfo_mb
    progress.data["workarounds"].append("psutil missing: free host memory read from /proc/meminfo")


def method_spec(inp: Inputs):
    from polcg.qm import MethodSpec

    return MethodSpec(xc=inp.xc, basis=inp.basis)


def load(name: str):
    from polcg.structure.io import load_cluster

    return load_cluster(CLUSTERS / name, total_charge=0)


def fresh_dir(path: Path) -> str:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return str(path)


def task_a_probe(args, inp: Inputs, pr: Progress) -> None:
    from polcg.qm.backends import probe_gpu

    reason = probe_gpu()
    pr.finish(gpu_usable=reason is None, reason=reason)


def task_b_gebf(args, inp: Inputs, pr: Progress) -> None:
    from polcg.charges import RunOptions, compute_charges
    from polcg.gebf import GEBFSettings

    memory_probe_fallback(pr)
    cluster, settings = load(inp.gebf_cluster), GEBFSettings()  # ξ = 3 Å, η = 3, fast passes
    options = RunOptions(device=args.device, workdir=fresh_dir(args.workdir / "qm_b_gebf"))
    res = compute_charges(cluster, method_spec(inp), settings, options=options, on_stage=pr.stage, on_job=pr.job)
    pr.finish(energy_hartree=res.energy_hartree, ion_charges=[i.charge for i in res.ions],
              atom_charges=list(res.atom_charges), iterations=res.iterations, converged=res.converged,
              max_charge_change=list(res.max_charge_change), n_subsystems=res.gebf["n_subsystems"],
              qm_jobs=res.gebf["qm_jobs"], gebf_wall_s=res.timing["gebf_wall_s"],
              layout=res.provenance["layout"], backend_versions=res.provenance["backend_versions"])


def task_b_full(args, inp: Inputs, pr: Progress) -> None:
    from types import SimpleNamespace

    import numpy as np

    from polcg.charges import RunOptions, full_reference, make_runner
    from polcg.gebf.plan import choose_layout

    memory_probe_fallback(pr)
    cluster = load(inp.gebf_cluster)
    layout = choose_layout(0.0, 1)  # one job: one worker on every core
    options = RunOptions(device=args.device, workdir=fresh_dir(args.workdir / "qm_b_full"))
    runner = make_runner(options, layout, pr.stage, pr.job)
    nothing = SimpleNamespace(atom_charges=np.zeros(cluster.natoms), energy_hartree=0.0)  # errors unused
    try:
        ref = full_reference(cluster, method_spec(inp), runner, nothing)
    finally:
        runner.executor.close()
    pr.finish(energy_hartree=ref["energy_hartree"], ion_charges=ref["ion_charges"], atom_charges=ref["atom_charges"],
              job_wall_s=ref["wall_s"], layout=layout.__dict__, backend_versions=runner.backends)


def task_c_pass(args, inp: Inputs, pr: Progress) -> None:
    from polcg.charges import RunOptions, compute_charges
    from polcg.gebf import GEBFSettings

    memory_probe_fallback(pr)
    cluster, method = load(inp.pass_cluster), method_spec(inp)
    one_pass = GEBFSettings(cheap_passes=0, max_iter=1)
    pr.data["plan"] = plan_figures(cluster, method, one_pass)
    pr.write()
    options = RunOptions(device=args.device, workdir=fresh_dir(args.workdir / "qm_c_pass"))
    res = compute_charges(cluster, method, one_pass, options=options, on_stage=pr.stage, on_job=pr.job)
    pr.finish(qm_jobs=res.gebf["qm_jobs"], n_subsystems=res.gebf["n_subsystems"], layout=res.provenance["layout"],
              max_charge_change=list(res.max_charge_change), gebf_wall_s=res.timing["gebf_wall_s"])


def plan_figures(cluster, method, one_pass) -> dict:
    """The plan's pass estimates (CPU cost model at a fixed 90 GFLOP/s: only their ratios are used) for
    the measured one-pass run and for a default fast run, and the jobs of each."""
    from polcg.charges import molecule_fragments
    from polcg.gebf import GEBFSettings
    from polcg.gebf.plan import plan_gebf

    atoms, charges, _ = molecule_fragments(cluster, "pairs")
    out = {"flops_assumed_gflops": 90.0}
    for name, settings in (("one_pass", one_pass), ("default_fast", GEBFSettings())):
        plan = plan_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, flops=90e9)
        out[name] = {p.name: {"jobs": len(p.jobs), "estimated_s": p.estimated_wall_s} for p in plan.passes}
    return out


def task_d_md(args, inp: Inputs, pr: Progress) -> None:
    import openmm

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import md_throughput

    name = "CUDA" if args.device == "gpu" else "CPU"
    n = openmm.Platform.getNumPlatforms()
    pr.data["openmm_platforms"] = [openmm.Platform.getPlatform(i).getName() for i in range(n)]
    pr.data["openmm_plugin_failures"] = [f[:200] for f in openmm.Platform.getPluginLoadFailures()]
    pr.write()
    md_throughput.STEPS_500["vacg"] = math.ceil(inp.md_steps * inp.md_pairs / 500)  # point(): steps * 500 // pairs
    row = md_throughput.point("vacg", inp.md_pairs, name)
    pr.finish(**row)


TASKS = {"a_probe": task_a_probe, "b_gebf": task_b_gebf, "b_full": task_b_full, "c_pass": task_c_pass,
         "d_md": task_d_md}


def run_task_here(args) -> None:
    pr = Progress(args.task_out)
    pr.write()
    TASKS[args.task](args, inputs(args), pr)


# --------------------------------------------------------------------------- orchestration

class Budget:
    """The deadline, and the nominal limits of the tasks still to run (each later task keeps its own;
    all scaled down alike when the budget is less than their sum)."""

    def __init__(self, args, tasks: list[str]):
        limits = dict(LIMITS["smoke" if args.smoke else "gpu"])
        limits.update({k: float(v) for k, v in (x.split("=") for x in args.limits.split(",") if x)})
        nominal = sum(limits[t] for t in tasks)
        self.total = args.budget_s or nominal
        scale = min(1.0, (self.total - MARGIN_S) / nominal) if nominal else 1.0
        self.pending, self.limits = list(tasks), {k: round(v * scale, 1) for k, v in limits.items()}
        self.deadline = time.monotonic() + self.total - MARGIN_S

    def take(self, task: str) -> float:
        """Seconds this task may run: what is left, less the limits of the tasks after it."""
        self.pending.remove(task)
        later = sum(self.limits[t] for t in self.pending)
        return self.deadline - time.monotonic() - later


def child_argv(args, task: str) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--task", task, "--device", args.device,
            "--workdir", str(args.workdir), "--task-out", str(args.workdir / f"{task}.json")]
    return argv + (["--smoke"] if args.smoke else []) + (["--md-steps", str(args.md_steps)] if args.md_steps else [])


def pytest_argv() -> list[str]:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                   if "pytest.mark.gpu" in p.read_text())
    return [sys.executable, "-m", "pytest", "-m", "gpu", "-v", "-rA", "-p", "no:cacheprovider", *files]


def run_process(argv: list[str], timeout: float, log: Path) -> tuple[str, float]:
    """Run argv in its own process group, killed (with its workers) at the timeout; (status, wall s)."""
    t0 = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING[:] = [proc]
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            return f"timed out after {timeout:.0f} s", time.monotonic() - t0
        finally:
            RUNNING.clear()
    wall = time.monotonic() - t0
    return ("ok" if rc == 0 else f"failed: {last_error(log, rc)}"), wall


def kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def last_error(log: Path, rc: int) -> str:
    lines = [x.strip() for x in log.read_text(errors="replace").splitlines() if x.strip()]
    return f"exit {rc}: {lines[-1][:300] if lines else 'no output'}"


def run_task(args, budget: Budget, task: str) -> dict:
    """One task under its limit: its status, limit, wall time and whatever record it left."""
    limit = budget.take(task)
    if limit < 5:
        return {"status": "skipped: no time left in the budget", "limit_s": round(limit, 1)}
    out, log = args.workdir / f"{task}.json", args.workdir / "logs" / f"{task}.log"
    out.unlink(missing_ok=True)
    argv = pytest_argv() if task == "a_pytest" else child_argv(args, task)
    print(f"[gpu_check] {task}: limit {limit:.0f} s", flush=True)
    status, wall = run_process(argv, limit, log)
    record = json.loads(out.read_text()) if out.exists() else {}
    if status == "ok" and task != "a_pytest" and not record.get("done"):
        status = "failed: the task ended without finishing its record"
    print(f"[gpu_check] {task}: {status} ({wall:.0f} s)", flush=True)
    return {**record, "status": status, "limit_s": round(limit, 1), "wall_s": round(wall, 1)}


# --------------------------------------------------------------------------- the steps' summaries

def step_a(args, budget: Budget) -> dict:
    probe = run_task(args, budget, "a_probe")
    tests = run_task(args, budget, "a_pytest")
    tests.update(pytest_counts(args.workdir / "logs" / "a_pytest.log"))
    skipped_all = tests.get("skipped", 0) and not (tests.get("passed", 0) or tests.get("failed", 0))
    status = tests["status"]
    if status == "ok" and skipped_all:
        status = "ok: skipped without a GPU, as expected" if args.device == "cpu" else "failed: every gpu test skipped"
    elif status.startswith("failed") and tests.get("failed"):
        status = f"failed: {tests['failed']} of {tests['collected']} gpu tests failed"
    return {"status": status, "probe": probe, "tests": tests}


def pytest_counts(log: Path) -> dict:
    text = log.read_text(errors="replace") if log.exists() else ""
    outcome = re.findall(r"::\S+ (PASSED|FAILED|SKIPPED|ERROR)", text)
    counts = {k.lower(): outcome.count(k) for k in ("PASSED", "FAILED", "SKIPPED", "ERROR")}
    summary = re.findall(r"^=+ (.+ in [\d.]+s.*?) =+$", text, re.M)
    notes = [x[:240] for x in text.splitlines() if re.match(r"^(FAILED|ERROR|SKIPPED) ", x)][:6]
    collected = re.search(r"collected (\d+) items(?: / (\d+) deselected)?", text)
    n = int(collected.group(1)) - int(collected.group(2) or 0) if collected else None
    return {**counts, "collected": n, "summary": summary[-1] if summary else None, "notes": notes}


def step_b(args, budget: Budget) -> dict:
    gebf = run_task(args, budget, "b_gebf")
    full = run_task(args, budget, "b_full")
    doc = {"cluster": inputs(args).gebf_cluster, "method": f"{inputs(args).xc}/{inputs(args).basis} NPA",
           "settings": "GEBFSettings(): ξ 3 Å, η 3, fast passes, charge tolerance 1e-3 e",
           "gebf": trim(gebf), "full": trim(full)}
    if gebf.get("done") and full.get("done"):
        doc.update(errors(gebf, full))
        doc["status"] = "ok"
    else:
        doc["status"] = f"failed: gebf {gebf['status']}; full {full['status']}"
    return doc


def trim(record: dict) -> dict:
    """A task's record without the per-atom lists (kept in the task files under --workdir)."""
    return {k: v for k, v in record.items() if k not in ("atom_charges", "ion_charges")}


def errors(gebf: dict, full: dict) -> dict:
    dq = max(abs(a - b) for a, b in zip(gebf["ion_charges"], full["ion_charges"]))
    da = max(abs(a - b) for a, b in zip(gebf["atom_charges"], full["atom_charges"]))
    de = (gebf["energy_hartree"] - full["energy_hartree"]) * 627.509474
    return {"max_ion_charge_error_e": dq, "max_atom_charge_error_e": da, "energy_error_kcal_mol": de,
            "target_max_ion_charge_error_e": TARGETS["max_ion_charge_error_e"],
            "target_energy_error_kcal_mol": TARGETS["energy_error_kcal_mol"],
            "meets_targets": dq <= TARGETS["max_ion_charge_error_e"] and abs(de) <= TARGETS["energy_error_kcal_mol"],
            "gebf_over_full_wall": gebf["gebf_wall_s"] / full["job_wall_s"]}


def step_c(args, budget: Budget) -> dict:
    rec = run_task(args, budget, "c_pass")
    stages = {s["stage"]: s for s in rec.get("stages", [])}
    iso, one = stages.get("isolated fragments"), stages.get("embedding pass 1")
    doc = {"status": rec["status"], "cluster": inputs(args).pass_cluster, "task": rec}
    doc["isolated_fragments_s"] = stage_seconds(iso)
    doc["embedding_pass"] = pass_figures(one, rec.get("wall_s"))
    doc.update(extrapolate(doc, rec.get("plan")))
    return doc


def stage_seconds(stage: dict | None) -> float | None:
    """Wall time of a finished stage (its start to its last job), else None."""
    if not stage or stage["done"] < stage["jobs"] or stage["end_s"] is None:
        return None
    return round(stage["end_s"] - stage["start_s"], 1)


def pass_figures(stage: dict | None, task_wall_s: float | None) -> dict | None:
    """The pass's wall time, measured, or, when cut short, elapsed x jobs / jobs done (jobs run largest
    first, so this overestimates, and at least `ran_s`, how long it ran until the task was stopped)."""
    if not stage:
        return None
    complete = stage["done"] == stage["jobs"]
    ran = round(task_wall_s - stage["start_s"], 1) if task_wall_s and not complete else None
    if not stage["done"]:
        return {"jobs_done": 0, "jobs": stage["jobs"], "ran_s": ran}
    elapsed = stage["end_s"] - stage["start_s"]
    return {"jobs_done": stage["done"], "jobs": stage["jobs"], "elapsed_s": round(elapsed, 1), "ran_s": ran,
            "pass_s": round(elapsed if complete else max(elapsed * stage["jobs"] / stage["done"], ran or 0), 1),
            "measured": complete, "qm_s": stage["qm_s"], "by_natoms": stage["by_natoms"]}


def extrapolate(doc: dict, plan: dict | None) -> dict:
    """A default fast run = isolated fragments + cheap pass + embedding pass (one, as usually), scaled from
    the measured parts-start pass by the plan's ratio (cost model, CPU layout: an extrapolation)."""
    iso, one = doc["isolated_fragments_s"], doc["embedding_pass"]
    if iso is None or not one or "pass_s" not in one or not plan:
        return {"extrapolated_gebf_wall_s": None}
    fast, measured = plan["default_fast"], plan["one_pass"]
    ratio = sum(v["estimated_s"] for k, v in fast.items() if k != "isolated fragments") / max(
        measured["embedding pass 1"]["estimated_s"], 1e-9)
    total = iso + one["pass_s"] * ratio
    return {"extrapolated_gebf_wall_s": round(total, 1), "plan_ratio_passes_over_one_pass": round(ratio, 3),
            "target_gebf_wall_s": TARGETS["gebf_30_pairs_wall_s"],
            "meets_target_extrapolated": total <= TARGETS["gebf_30_pairs_wall_s"]}


def step_d(args, budget: Budget) -> dict:
    rec = run_task(args, budget, "d_md")
    return {"status": rec["status"], "pairs": inputs(args).md_pairs, "ns_per_day": rec.get("polcg_ns_per_day"),
            "bare_openmm_ns_per_day": rec.get("bare_openmm_ns_per_day"), "task": rec}


STEPS = {"a": ("a_gpu_tests", step_a), "b": ("b_gebf_vs_full_8", step_b), "c": ("c_embedding_pass_30", step_c),
         "d": ("d_vacg_ns_per_day", step_d)}


# --------------------------------------------------------------------------- the document

def versions() -> dict:
    from importlib import metadata

    names = ("polcg", "pyscf", "gpu4pyscf-cuda13x", "gpu4pyscf-cuda12x", "gpu4pyscf-libxc-cuda13x", "cupy-cuda13x",
             "cupy-cuda12x", "openmm", "openmm-cuda-13", "openmm-cuda-12", "numpy", "scipy", "rdkit", "psutil")
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            continue
    return out


def device_info() -> dict:
    query = "name,driver_version,memory.total,memory.used"
    try:
        res = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20)
        gpus = [x.strip() for x in res.stdout.splitlines() if x.strip()]
    except (OSError, subprocess.TimeoutExpired) as exc:
        gpus = [f"nvidia-smi: {exc}"]
    return {"gpus": gpus, "host": platform.node(), "cpu_count": os.cpu_count(), "python": platform.python_version()}


def commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def header(args) -> dict:
    inp = inputs(args)
    return {"check": "gpu_check", "issue": "15 item 8", "device": args.device, "smoke": args.smoke,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": commit(),
            "inputs": inp.__dict__, "targets": TARGETS, "machine": device_info(), "versions": versions(),
            "steps": {}}


def write(doc: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)


def orchestrate(args) -> dict:
    chosen = [s for s in "abcd" if s in args.steps.split(",")]
    shutil.rmtree(args.workdir / "logs", ignore_errors=True)
    (args.workdir / "logs").mkdir(parents=True)
    budget = Budget(args, [t for s in chosen for t in STEP_TASKS[s]])
    t0 = time.monotonic()
    doc = header(args)
    doc["budget_s"], doc["limits_s"] = budget.total, budget.limits
    doc["steps"] = {STEPS[s][0]: {"status": "not run yet" if s in chosen else "skipped: not chosen (--steps)"}
                    for s in "abcd"}
    write(doc, args.out)
    for s in chosen:
        key, fn = STEPS[s]
        doc["steps"][key] = fn(args, budget)
        doc["wall_s"] = round(time.monotonic() - t0, 1)
        write(doc, args.out)
    return doc


def on_signal(signum, frame) -> None:
    """Stopped from outside (gpu_check.sh's timeout, Ctrl-C): end the running task and its workers too."""
    for proc in list(RUNNING):
        kill_group(proc)
    raise SystemExit(128 + signum)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.task:
        run_task_here(args)
        return
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    doc = orchestrate(args)
    print(json.dumps({k: v.get("status") for k, v in doc["steps"].items()}, indent=1))
    print(f"[gpu_check] JSON: {args.out}", flush=True)


if __name__ == "__main__":
    main()
