"""Architecture components (importing this package registers them)."""

from lifelong.components.architecture import hypernet, multihead, packnet  # noqa: F401
