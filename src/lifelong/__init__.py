"""lifelong: continual (lifelong) reinforcement learning in JAX.

Public API: load or build a study config, run it, and read its metrics.
"""

from lifelong.config import Study, load, resolve
from lifelong.errors import ConfigError
from lifelong.runner.study import run_study

__version__ = "0.1.0"

__all__ = ["ConfigError", "Study", "load", "resolve", "run_study"]
