"""The chain's YAML file, read into frozen dataclasses.

Every key is checked here, before anything runs or is written: an unknown key, a wrong type or
a missing file is one `InputError` line naming the file and the key (`chain.yaml: md.pairs: ...`).
Relative paths are resolved against the YAML file's folder. Durations are written with a unit
('1ns', '5fs'), as on the `polcg simulate` command line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from polcg.errors import InputError
from polcg.units import duration_ps

MODELS = ("vacg", "drude")
TRANSPORT = ("diffusion", "conductivity")


@dataclass(frozen=True)
class QMConfig:
    """Passed to `compute_charges`: the method (what changes the answer) and how to run it."""

    xc: str = "M06-2X"
    basis: str = "6-31G**"
    scheme: str = "npa"
    grid: int = 3
    device: str = "auto"
    workers: int = 0
    memory_mb: int | None = None
    workdir: Path | None = None  # QM job store; None: <out>/charges/qm_work


@dataclass(frozen=True)
class GEBFConfig:
    xi: float = 3.0  # Å
    eta: int | None = 3
    fragments: str = "pairs"


@dataclass(frozen=True)
class CGConfig:
    """What both models share: the library base model, extra CG parameters, the cutoff."""

    base: str | None = None
    params: Path | None = None
    cutoff_nm: float = 1.2


@dataclass(frozen=True)
class VaCGConfig:
    water: str | None = "PW"
    lj_switch_nm: float | None = None
    eps_il_grid: tuple[float, ...] = (1.0,)
    eps_w: float | None = None  # None: the water model's own ε_r
    # bead LJ parameters scanned with ε_IL (`CGModel.with_lj` keys → values), e.g. {"BF4.epsilon": (1.5, 2.56)}
    lj_grid: tuple[tuple[str, tuple[float, ...]], ...] = ()


@dataclass(frozen=True)
class DrudeConfig:
    kd_kj_mol_a2: float = 1046.0
    drude_mass_u: float = 3.2
    thole: float = 2.6
    intermolecular_thole: bool = False
    polarizability: Path | None = None  # None: shipped qm_jobs/polarizability


@dataclass(frozen=True)
class MDConfig:
    """Simulation and analysis settings of every run of the chain (times in ps)."""

    pairs: int = 150
    equilibrate_ps: float = 1000.0
    production_ps: float = 4000.0
    validate_production_ps: float | None = None  # the validation runs' production; None: production_ps
    timestep_fs: float | None = None  # None: polcg simulate's automatic step
    report_ps: float = 10.0
    segment_ps: float = 100.0
    platform: str = "auto"
    seeds: tuple[int, ...] = (1,)
    box_check_pairs: int | None = None
    box_check_production_ps: float | None = None  # the second box's production; None: the validation runs'
    box_check_models: tuple[str, ...] | None = None  # models given the second box; None: every model
    drude_production_ps: float | None = None  # the Drude model's validation runs; None: the validation runs'
    blocks: int = 10
    gas_production_ps: float = 2000.0
    friction_per_ps: float = 1.0
    workers: int = 0  # simulations of a stage run at once; 0: one per core on the CPU platform, else 1


@dataclass(frozen=True)
class TargetsConfig:
    table: Path
    experiment_t_k: float
    reference: Path | None = None  # folder of the stored source the table cites (checked when given)
    transport: str = "diffusion"
    tolerance_k: float = 1.0  # table rows within this of a run's T are compared with it
    # shear viscosity (mPa s) by temperature (K), for the Yeh–Hummer correction of D where the two boxes
    # do not give the model's own (e.g. experiment)
    viscosity_mpa_s: tuple[tuple[float, float], ...] = ()
    # a model of the table to beat: the scan minimises the largest ratio of polcg's deviation from
    # experiment to this model's (None: the weighted mean squared relative deviation)
    versus: str | None = None


@dataclass(frozen=True)
class ChainConfig:
    path: Path
    sha256: str
    name: str
    cation: str
    anion: str
    clusters: tuple[Path, ...]
    qm: QMConfig
    gebf: GEBFConfig
    models: tuple[str, ...]
    cg: CGConfig
    vacg: VaCGConfig
    drude: DrudeConfig
    water_fractions: tuple[float, ...]
    temperatures: tuple[float, ...]
    md: MDConfig
    targets: TargetsConfig


class _Section:
    """Typed reads of one mapping of the file, each error naming file and key."""

    def __init__(self, file: Path, prefix: str, raw):
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InputError(f"{file}: {prefix or 'top level'}: expected a mapping of keys, got {raw!r}")
        self.file, self.prefix, self.raw, self.used = file, prefix, raw, set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str):
        raise InputError(f"{self.file}: {self.key(name)}: {problem}")

    def get(self, name: str, default=None, required: bool = False):
        self.used.add(name)
        if name not in self.raw or self.raw[name] is None:
            if required:
                self.fail(name, "missing (required)")
            return default
        return self.raw[name]

    def text(self, name: str, default=None, required=False, choices=None) -> str | None:
        v = self.get(name, default, required)
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            self.fail(name, f"expected a name, got {v!r}")
        if choices and v.lower() not in choices:
            self.fail(name, f"{v!r}: choose from {', '.join(choices)}")
        return v.lower() if choices else v

    def number(self, name: str, default=None, required=False, positive=True, integer=False):
        v = self.get(name, default, required)
        if v is None:
            return None
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok or (positive and not v > 0):
            kind = "integer" if integer else "number"
            self.fail(name, f"expected a {'positive ' if positive else ''}{kind}, got {v!r}")
        return v if integer else float(v)

    def flag(self, name: str, default: bool) -> bool:
        v = self.get(name, default)
        if not isinstance(v, bool):
            self.fail(name, f"expected true or false, got {v!r}")
        return v

    def numbers(self, name: str, default=None, required=False, integer=False, low=None, high=None) -> tuple:
        v = self.get(name, default, required)
        if not isinstance(v, list | tuple) or not v:
            self.fail(name, f"expected a non-empty list of numbers, got {v!r}")
        kind = int if integer else int | float
        if any(isinstance(x, bool) or not isinstance(x, kind) for x in v):
            self.fail(name, f"expected a list of {'integers' if integer else 'numbers'}, got {v!r}")
        if (low is not None and min(v) < low) or (high is not None and max(v) > high) or len(set(v)) != len(v):
            self.fail(name, f"{v!r}: values must be distinct and within [{low}, {high if high is not None else '∞'}]")
        return tuple(v if integer else (float(x) for x in v))

    def duration(self, name: str, default: str, allow_auto: bool = False) -> float | None:
        v = self.get(name, default)
        if allow_auto and v == "auto":
            return None
        return duration_ps(v, f"{self.file}: {self.key(name)}")

    def path(self, name: str, default=None, required=False, folder=False) -> Path | None:
        v = self.get(name, default, required)
        if v is None:
            return None
        p = Path(v) if Path(v).is_absolute() else (self.file.parent / str(v)).resolve()
        if not (p.is_dir() if folder else p.is_file()):
            self.fail(name, f"{v}: no such {'folder' if folder else 'file'} ({p})")
        return p

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            self.fail(unknown[0], f"unknown key (known here: {', '.join(sorted(self.used))})")


def load_config(path: str | Path) -> ChainConfig:
    path = Path(path)
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: chain file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read YAML: {' '.join(str(exc).split())}") from None
    top = _Section(path, "", raw)
    cation, anion = top.text("cation", required=True), top.text("anion", required=True)
    _check_ions(top, cation, anion)
    cfg = ChainConfig(
        path=path.resolve(), sha256=hashlib.sha256(data).hexdigest(), name=top.text("name", required=True),
        cation=cation, anion=anion, clusters=_clusters(top), qm=_qm(top), gebf=_gebf(top),
        models=_models(top), cg=_cg(top), vacg=_vacg(top), drude=_drude(top),
        water_fractions=top.numbers("water_fractions", [0.0], low=0.0, high=1.0),
        temperatures=top.numbers("temperatures", required=True, low=1e-9), md=_md(top),
        targets=_targets(top, cation, anion))
    top.done()
    _check_consistent(cfg)
    return cfg


def _check_ions(top: _Section, cation: str, anion: str) -> None:
    from polcg.structure.library import load_library

    lib = load_library()
    for key, name in (("cation", cation), ("anion", anion)):
        if name not in lib:
            top.fail(key, f"unknown ion {name!r} (library: {', '.join(lib.names)})")


def _clusters(top: _Section) -> tuple[Path, ...]:
    raw = top.get("clusters", required=True)
    if not isinstance(raw, list) or not raw:
        top.fail("clusters", "expected a non-empty list of structure files")
    out = []
    for k, item in enumerate(raw):
        p = Path(str(item)) if Path(str(item)).is_absolute() else (top.file.parent / str(item)).resolve()
        if not p.is_file():
            top.fail(f"clusters[{k}]", f"{item}: no such file ({p})")
        out.append(p)
    if len({p.stem for p in out}) != len(out):
        top.fail("clusters", "two clusters share a file name; their charges would overwrite each other")
    return tuple(out)


def _qm(top: _Section) -> QMConfig:
    from polcg.qm.charge_schemes import CHARGE_SCHEMES

    s = _Section(top.file, "qm", top.get("qm"))
    d = QMConfig()
    workers = s.number("workers", d.workers, positive=False, integer=True)
    if workers < 0:
        s.fail("workers", f"{workers}: must be >= 0 (0: as many as cores and memory allow)")
    cfg = QMConfig(xc=s.text("xc", d.xc), basis=s.text("basis", d.basis), scheme=s.text("scheme", d.scheme,
                   choices=CHARGE_SCHEMES.names()), grid=s.number("grid", d.grid, positive=False, integer=True),
                   device=s.text("device", d.device, choices=("auto", "cpu", "gpu")), workers=workers,
                   memory_mb=s.number("memory_mb", None, integer=True), workdir=_folder(s, "workdir"))
    s.done()
    return cfg


def _folder(s: _Section, name: str) -> Path | None:
    """A folder that may not exist yet (created when used)."""
    v = s.get(name)
    if v is None:
        return None
    return Path(v) if Path(v).is_absolute() else (s.file.parent / str(v)).resolve()


def _gebf(top: _Section) -> GEBFConfig:
    s = _Section(top.file, "gebf", top.get("gebf"))
    eta = s.number("eta", 3, positive=False, integer=True)
    if eta < 0:
        s.fail("eta", f"{eta}: most fragments per subsystem, >= 1 (0: no cap)")
    cfg = GEBFConfig(xi=s.number("xi", 3.0), eta=eta or None,
                     fragments=s.text("fragments", "pairs", choices=("pairs", "ions")))
    s.done()
    return cfg


def _models(top: _Section) -> tuple[str, ...]:
    raw = top.get("models", list(MODELS))
    if not isinstance(raw, list) or not raw or any(m not in MODELS for m in raw) or len(set(raw)) != len(raw):
        top.fail("models", f"{raw!r}: a list of distinct names from {', '.join(MODELS)}")
    return tuple(raw)


def _cg(top: _Section) -> CGConfig:
    s = _Section(top.file, "cg", top.get("cg"))
    cfg = CGConfig(base=s.text("base"), params=s.path("params"), cutoff_nm=s.number("cutoff_nm", 1.2))
    s.done()
    return cfg


def _vacg(top: _Section) -> VaCGConfig:
    s = _Section(top.file, "vacg", top.get("vacg"))
    water = s.get("water", "pw")
    if not isinstance(water, str) or not water.strip():
        s.fail("water", f"expected a water model name or none, got {water!r}")
    cfg = VaCGConfig(water=None if water.lower() == "none" else water.upper(),
                     lj_switch_nm=s.number("lj_switch", None), eps_il_grid=tuple(sorted(
                         s.numbers("eps_il_grid", [1.0], low=1e-9))), eps_w=s.number("eps_w", None),
                     lj_grid=_lj_grid(s))
    s.done()
    return cfg


def _lj_grid(s: _Section) -> tuple:
    """`vacg.lj_grid`: {BEAD.sigma|epsilon[_scale]: [values, ...]} (checked against the model when it is built)."""
    from polcg.cg.model import _lj_key

    raw = s.get("lj_grid", {})
    if not isinstance(raw, dict):
        s.fail("lj_grid", f"expected a mapping of LJ parameter to a list of values, got {raw!r}")
    out = []
    for key, values in raw.items():
        try:
            _lj_key(str(key))
        except InputError as exc:
            s.fail("lj_grid", str(exc))
        sub = _Section(s.file, f"{s.prefix}.lj_grid", {str(key): values})
        out.append((str(key), tuple(sorted(sub.numbers(str(key), required=True, low=1e-9)))))
    return tuple(out)


def _drude(top: _Section) -> DrudeConfig:
    s = _Section(top.file, "drude", top.get("drude"))
    d = DrudeConfig()
    cfg = DrudeConfig(kd_kj_mol_a2=s.number("kd", d.kd_kj_mol_a2), drude_mass_u=s.number("drude_mass", d.drude_mass_u),
                      thole=s.number("thole", d.thole), intermolecular_thole=s.flag("intermolecular_thole", False),
                      polarizability=s.path("polarizability"))
    s.done()
    return cfg


def _md(top: _Section) -> MDConfig:
    s = _Section(top.file, "md", top.get("md"))
    timestep = s.duration("timestep", "auto", allow_auto=True)
    cfg = MDConfig(
        pairs=s.number("pairs", 150, integer=True), equilibrate_ps=s.duration("equilibrate", "1ns"),
        production_ps=s.duration("production", "4ns"), report_ps=s.duration("report", "10ps"),
        segment_ps=s.duration("segment", "100ps"), platform=s.text("platform", "auto"),
        seeds=s.numbers("seeds", [1], integer=True, low=0), box_check_pairs=s.number("box_check_pairs", None,
                                                                                      integer=True),
        blocks=s.number("blocks", 10, integer=True), gas_production_ps=s.duration("gas_production", "2ns"),
        friction_per_ps=s.number("friction", 1.0), timestep_fs=None if timestep is None else timestep * 1e3,
        validate_production_ps=s.duration("validate_production", "auto", allow_auto=True),
        box_check_production_ps=s.duration("box_check_production", "auto", allow_auto=True),
        box_check_models=_model_list(s, "box_check_models"),
        drude_production_ps=s.duration("drude_production", "auto", allow_auto=True),
        workers=s.number("workers", 0, positive=False, integer=True))
    if cfg.workers < 0:
        s.fail("workers", f"{cfg.workers}: must be >= 0 (0: one per core on the CPU platform)")
    if cfg.blocks < 2:
        s.fail("blocks", f"{cfg.blocks}: need at least 2 time blocks for an error bar")
    if cfg.box_check_pairs == cfg.pairs:
        s.fail("box_check_pairs", f"{cfg.box_check_pairs}: must differ from md.pairs to check the box size")
    s.done()
    return cfg


def _model_list(s: _Section, name: str) -> tuple[str, ...] | None:
    raw = s.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list) or any(m not in MODELS for m in raw):
        s.fail(name, f"{raw!r}: a list of names from {', '.join(MODELS)}")
    return tuple(raw)


def _targets(top: _Section, cation: str, anion: str) -> TargetsConfig:
    from polcg.structure.library import default_path

    s = _Section(top.file, "targets", top.get("targets"))
    shipped = default_path() / "targets" / f"{cation.lower()}_{anion.lower()}_table1.csv"
    table = s.path("table") or (shipped if shipped.is_file() else None)
    if table is None:
        s.fail("table", f"missing: no shipped table for {cation}/{anion} ({shipped.name}); give a CSV")
    cfg = TargetsConfig(table=table, experiment_t_k=s.number("experiment_T", required=True),
                        reference=s.path("reference", folder=True),
                        transport=s.text("transport", "diffusion", choices=TRANSPORT),
                        tolerance_k=s.number("tolerance_K", 1.0), viscosity_mpa_s=_viscosity(s),
                        versus=s.text("versus"))
    s.done()
    return cfg


def _viscosity(s: _Section) -> tuple[tuple[float, float], ...]:
    """`targets.viscosity_mPa_s`: {temperature K: viscosity mPa s}."""
    raw = s.get("viscosity_mPa_s", {})
    if not isinstance(raw, dict) or not all(isinstance(k, int | float) and isinstance(v, int | float) and k > 0
                                            and v > 0 for k, v in raw.items()):
        s.fail("viscosity_mPa_s", f"expected a mapping of positive temperature (K) to viscosity (mPa s), got {raw!r}")
    return tuple(sorted((float(k), float(v)) for k, v in raw.items()))


def _check_consistent(cfg: ChainConfig) -> None:
    f = cfg.path
    if any(x > 0 for x in cfg.water_fractions) and ("vacg" not in cfg.models or cfg.vacg.water is None):
        raise InputError(f"{f}: water_fractions: x > 0 needs the vacg model with a water model (vacg.water)")
    if cfg.vacg.lj_switch_nm is not None and not cfg.vacg.lj_switch_nm < cfg.cg.cutoff_nm:
        raise InputError(f"{f}: vacg.lj_switch: {cfg.vacg.lj_switch_nm} nm must be below cg.cutoff_nm")
    if 0.0 not in cfg.water_fractions:
        raise InputError(f"{f}: water_fractions: must include 0 (the neat IL: scan and Drude runs)")
