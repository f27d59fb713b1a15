"""lifelong: continual (lifelong) reinforcement learning in JAX.

Public API: load or build a study config, run it, and read its metrics. Names are imported
on first use, so `import lifelong` stays cheap and does not initialize JAX.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "lifelong.errors",
    "Study": "lifelong.config",
    "load": "lifelong.config",
    "resolve": "lifelong.config",
    "run_study": "lifelong.runner.study",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lifelong' has no attribute {name!r}")
