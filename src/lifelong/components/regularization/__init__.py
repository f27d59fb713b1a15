"""Regularization components (importing this package registers them)."""

from lifelong.components.regularization import (  # noqa: F401
    distill,
    ewc,
    l2,
    logit_swap,
    mas,
    si,
)
