"""Boxes of a CG model (layout, packing), the OpenMM System, energies by term class."""
