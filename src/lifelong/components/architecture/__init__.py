"""Architecture components (importing this package registers them)."""

from lifelong.components.architecture import multihead  # noqa: F401
