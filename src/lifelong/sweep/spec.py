"""A sweep file: a base study, the config fields to vary, the search and where it runs.

    study: study.yaml               # a path (relative to this file) or an inline mapping
    search: grid                    # or random (with `samples`)
    parameters:                     # any dotted config field -> its values
      agents.reg.components.0.name: [l2, ewc]
      agents.reg.components.0.strength: [0.1, 1.0]
      learner.lr: {low: 1.0e-4, high: 1.0e-3, log: true}   # a range: random search only
    methods: [agents.reg.components.0.name]   # best config per agent and per these values
    metric: average_performance     # ranks trials; `mode: min` for e.g. forgetting
    backend: local                  # or ray
    retries: 1

Each trial is the base study with one value per parameter; seeds stay a vmapped axis inside
the trial (the study's `seeds`). A trial's id is a hash of its resolved config, so running
the same sweep again finds the trials it already finished.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from lifelong import config
from lifelong.errors import ConfigError
from lifelong.evaluation.metrics import METRIC_NAMES
from lifelong.runner.checkpoint import config_digest


class Range(BaseModel):
    """A continuous range for random search."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float
    log: bool = Field(False, description="Sample uniformly in log space (low > 0).")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError("needs low < high")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study: str | dict[str, Any] = Field(description="Base study: a YAML path or a mapping.")
    search: Literal["grid", "random"] = "grid"
    samples: int = Field(8, ge=1, description="Trials drawn by random search.")
    seed: int = Field(0, description="Seed of random search.")
    parameters: dict[str, list[Any] | Range] = Field(min_length=1)
    methods: list[str] = Field([], description="Parameters that name a method: the best-"
                               "config table keeps one row per agent and value of these.")
    metric: str = Field("average_performance", description="Metric that ranks trials.")
    mode: Literal["max", "min"] = "max"
    backend: Literal["local", "ray"] = "local"
    workers: int | None = Field(None, ge=1, description="Trials at once (local: the cores).")
    retries: int = Field(1, ge=0, description="Extra attempts of a failed trial.")

    @model_validator(mode="after")
    def _consistent(self) -> SweepConfig:
        if self.metric not in METRIC_NAMES:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRIC_NAMES)}")
        unknown = set(self.methods) - set(self.parameters)
        if unknown:
            raise ValueError(f"methods {sorted(unknown)} are not among the parameters")
        for name, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter {name!r} has no values")
            if isinstance(values, Range) and self.search == "grid":
                raise ValueError(f"parameter {name!r} is a range; a grid needs a list of "
                                 "values (or use search: random)")
        return self


class Trial(BaseModel):
    id: str
    params: dict[str, Any]
    study: dict[str, Any]  # the resolved study (what the trial's run folder records)


def load_sweep(path: str | Path) -> tuple[SweepConfig, list[Trial]]:
    """Reads and validates a sweep file and every trial's study; raises `ConfigError`."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("SWEEP", f"no such file {str(path)!r}; give a sweep YAML file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError("SWEEP", f"{path} is not valid YAML: {error}") from None
    sweep = config.validate_model(SweepConfig, data, "")
    if isinstance(sweep.study, str):
        study_path = path.parent / sweep.study
        if not study_path.is_file():
            raise ConfigError("study", f"no such file {str(study_path)!r}")
        base = yaml.safe_load(study_path.read_text()) or {}
    else:
        base = sweep.study
    trials = {}  # by id: random search may draw one trial twice
    for params in _grid_or_sample(sweep):
        trial = _trial(base, params)
        trials.setdefault(trial.id, trial)
    return sweep, list(trials.values())


def _grid_or_sample(sweep: SweepConfig) -> list[dict[str, Any]]:
    names = list(sweep.parameters)
    if sweep.search == "grid":
        return [dict(zip(names, values))
                for values in itertools.product(*sweep.parameters.values())]
    rng = np.random.default_rng(sweep.seed)
    return [{name: _draw(values, rng) for name, values in sweep.parameters.items()}
            for _ in range(sweep.samples)]


def _draw(values: list[Any] | Range, rng: np.random.Generator) -> Any:
    if isinstance(values, list):
        return values[rng.integers(len(values))]
    if values.log:
        return float(math.exp(rng.uniform(math.log(values.low), math.log(values.high))))
    return float(rng.uniform(values.low, values.high))


def _trial(base: dict[str, Any], params: dict[str, Any]) -> Trial:
    data = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    for name, value in params.items():
        config.override(data, name, value)
    try:
        resolved = config.resolve(data).dump()
    except ConfigError as error:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise ConfigError(f"parameters ({shown}): {error.field}", error.message) from None
    return Trial(id=config_digest(resolved)[:10], params=params, study=resolved)
