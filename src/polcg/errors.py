"""Typed errors. A user-facing error carries a one-line message naming the input and the problem."""


class PolcgError(Exception):
    """Base class for polcg errors that the CLI reports in one line (exit code 2)."""


class InputError(PolcgError, ValueError):
    """Bad user input: a file that cannot be read, an inconsistent structure, a bad option."""


class StructureError(InputError):
    """A structure file that cannot be turned into a cluster of ions."""


class QMError(PolcgError, RuntimeError):
    """A QM calculation that failed (e.g. an SCF that did not converge)."""


class BackendNotFound(PolcgError, RuntimeError):
    """A requested backend (e.g. gpu4pyscf) is not installed or not usable."""
