"""Atomic charge schemes: the table that validation, dispatch and the CLI read.

A scheme is a function ``f(mol, dm) -> numpy.ndarray``: one charge (e) per atom of a
:class:`pyscf.gto.Mole` from its total (alpha + beta) AO density matrix. Every module of this
package registers one scheme when imported (``@CHARGE_SCHEMES.register(name, help=...)``), and
another distribution can add one through the ``polcg.charge_schemes`` entry-point group, so a new
scheme is one new module. The modules import pyscf and scipy inside their functions: looking up a
name (e.g. to validate a :class:`polcg.qm.spec.MethodSpec`) stays cheap.

Shared input checks live in :mod:`polcg.qm.density_check`; the dispatch function is
:func:`polcg.qm.populations.atomic_charges`.
"""

from polcg.registry import Registry

CHARGE_SCHEMES = Registry("charge scheme", package="polcg.qm.charge_schemes", entry_points="polcg.charge_schemes")

__all__ = ["CHARGE_SCHEMES"]
