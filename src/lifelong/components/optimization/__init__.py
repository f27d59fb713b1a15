"""Optimization components (importing this package registers them)."""

from lifelong.components.optimization import agem, gpm  # noqa: F401
