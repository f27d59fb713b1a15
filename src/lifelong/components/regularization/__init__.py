"""Regularization components (importing this package registers them)."""

from lifelong.components.regularization import ewc, l2  # noqa: F401
