"""One table per extension point (charge schemes, QM backends, export engines, properties).

A :class:`Registry` maps a name to an implementation plus a one-line help text. It is kept in the
module that dispatches on it; validation, dispatch, CLI choices and help all read from it, so adding
an item means adding one module that registers itself:

* ``package``: every module of that package is imported on the first lookup, so a new module
  dropped into it is found without editing any list (the pattern of QCEngine's
  ``register_program``, with discovery instead of a hand-kept import list);
* ``entry_points``: an importlib entry-point group (e.g. ``polcg.charge_schemes``) through which
  another distribution adds items without touching polcg. Each entry point names a module that
  registers itself when imported.

Modules found this way should import heavy libraries (pyscf, openmm) inside their functions so a
lookup stays cheap. Names are case-insensitive and ``-`` equals ``_``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from polcg.errors import InputError

T = TypeVar("T")


def normalise(name: str) -> str:
    """The registry key of a user-typed name: lower case, '-' read as '_'."""
    return str(name).strip().lower().replace("-", "_")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    help: str


class Registry(Generic[T]):
    """Named implementations of one extension point, listed in alphabetical order (registration order
    depends on which module happened to be imported first)."""

    def __init__(self, kind: str, *, package: str | None = None, entry_points: str | None = None):
        self.kind = kind
        self._package = package
        self._group = entry_points
        self._entries: dict[str, Entry[T]] = {}
        self._loaded = package is None and entry_points is None

    def register(self, name: str, help: str = "") -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("cm5", help="...")`` on a function or class."""
        key = normalise(name)

        def add(obj: T) -> T:
            old = self._entries.get(key)
            if old is not None and old.obj is not obj and _origin(old.obj) != _origin(obj):
                raise ValueError(f"{self.kind} {key!r} registered twice ({_origin(old.obj)}, {_origin(obj)})")
            self._entries[key] = Entry(key, obj, help)
            return obj

        return add

    def add(self, name: str, obj: T, help: str = "") -> T:
        """Register `obj` under `name` (the non-decorator form)."""
        return self.register(name, help)(obj)

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self._package:
            pkg = importlib.import_module(self._package)
            for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{self._package}.{info.name}")
        if self._group:
            from importlib.metadata import entry_points

            for ep in entry_points(group=self._group):
                ep.load()

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(sorted(self._entries))

    def entries(self) -> Iterator[Entry[T]]:
        self._load()
        return iter(tuple(self._entries[k] for k in sorted(self._entries)))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise(name) in self.names()

    def key(self, name: str) -> str:
        """The registered key of `name`, or an InputError listing the choices."""
        key = normalise(name)
        if key not in self.names():
            raise InputError(f"unknown {self.kind} {name!r}; choose from {', '.join(self.names())}")
        return key

    def get(self, name: str) -> T:
        return self._entries[self.key(name)].obj

    def help(self, name: str) -> str:
        return self._entries[self.key(name)].help

    def choices_help(self) -> str:
        """'a (help), b (help)': for CLI option help."""
        return ", ".join(f"{e.name} ({e.help})" if e.help else e.name for e in self.entries())


def _origin(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
