"""The properties of `polcg analyze`: one module of this package per property, registered in `PROPERTIES`.

A property is MDAnalysis's AnalysisBase cut to what polcg needs: an object (a subclass of
:class:`Property`, registered with ``@register``) that says

* ``name``, ``help``, ``order`` (its place in the output), ``default`` (in the default set of
  `polcg analyze`) and ``requires`` (properties whose results it uses; computed first, even when not
  asked for);
* ``prepare(run, settings)``: a per-segment reducer or None; `series.collect` calls its
  ``add(chunk, first_frame)`` on every production segment beside the shared series (centres of
  mass, rotational dipole, volume), so the trajectory is read once;
* ``compute(ctx)``: adds its :class:`~polcg.md.estimators.Estimate` values (names carry the units;
  they are the rows of the table and the fields of properties.json, in order) and notes to `ctx`,
  and returns its raw result (arrays, for dependants and files; not in properties.json) or None;
* ``write(props, out_dir)``: its files beside properties.json (CSV, PNG) → {role: path}.

A property the data cannot give raises InputError: it is noted and the others are still computed.
Another distribution adds properties through the ``polcg.properties`` entry-point group. Modules
here import openmm, mdtraj and matplotlib inside functions, so listing the properties stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from polcg.errors import InputError
from polcg.registry import Registry

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from polcg.md.analysis import AnalysisSettings, Properties
    from polcg.md.estimators import Estimate
    from polcg.md.series import Series
    from polcg.md.trajectory import Run


class Property:
    """One property of `polcg analyze` (see the module docstring)."""

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    order: ClassVar[int] = 1000
    default: ClassVar[bool] = True
    requires: ClassVar[tuple[str, ...]] = ()

    def prepare(self, run: Run, settings: AnalysisSettings):
        """A reducer whose ``add(chunk, first_frame)`` sees every production segment, or None."""
        return None

    def compute(self, ctx: Context) -> Any:
        raise NotImplementedError

    def write(self, props: Properties, out_dir: Path) -> dict[str, Path]:
        return {}


PROPERTIES: Registry[Property] = Registry("property", package="polcg.md.properties", entry_points="polcg.properties")


def register(cls: type[Property]) -> type[Property]:
    """Class decorator: register an instance of `cls` under ``cls.name``."""
    PROPERTIES.add(cls.name, cls(), cls.help)
    return cls


@dataclass
class Context:
    """What a property computes from, and where its results go."""

    run: Run
    settings: AnalysisSettings
    series: Series
    state: np.ndarray  # production state rows
    dt_ps: float
    reducers: dict[str, Any] = field(default_factory=dict)  # property name → its reducer
    results: dict[str, Any] = field(default_factory=dict)  # property name → what compute returned
    values: dict[str, Estimate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def ordered() -> list[Property]:
    """Every registered property, in output order."""
    return sorted((e.obj for e in PROPERTIES.entries()), key=lambda p: p.order)


def default_names() -> tuple[str, ...]:
    return tuple(p.name for p in ordered() if p.default)


def choices_help() -> str:
    """'a (help), b (help; not by default)': for the CLI option."""
    return ", ".join(f"{p.name} ({p.help}{'' if p.default else '; not by default'})" for p in ordered())


def normalised(names) -> tuple[str, ...]:
    """The registry keys of `names`, or an InputError naming every unknown one."""
    bad = [n for n in names if n not in PROPERTIES]
    if bad or not names:
        raise InputError(f"unknown properties {', '.join(map(str, bad)) or '(none)'}: choose from "
                         f"{', '.join(p.name for p in ordered())}")
    return tuple(PROPERTIES.key(n) for n in names)


def plan(names) -> list[Property]:
    """The properties to compute for `names`, with what they require, in output order."""
    want, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in want:
            want.add(name)
            todo.extend(PROPERTIES.get(name).requires)
    chosen = [p for p in ordered() if p.name in want]
    for p in chosen:
        late = [r for r in p.requires if PROPERTIES.get(r).order >= p.order]
        if late:
            raise ValueError(f"property {p.name} requires {', '.join(late)}, which must come before it")
    return chosen


def label(prop: Property) -> str:
    """The name a failure of `prop` is noted under: it with what it requires and what requires it."""
    users = [p.name for p in ordered() if prop.name in p.requires]
    return "/".join(dict.fromkeys([*prop.requires, prop.name, *users]))
