"""Plasticity components (importing this package registers them)."""

from lifelong.components.plasticity import cbp, nap, redo, shrink_perturb  # noqa: F401
