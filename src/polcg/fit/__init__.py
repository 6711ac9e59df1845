"""Fitting the VaCG dielectric constants ε_IL(x), ε_W(x) to experiment with surrogate models."""
