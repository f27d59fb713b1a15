"""What a logger receives, the interface it implements, and how loggers are made by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np


class EvalRecord(NamedTuple):
    """The eval points one finished task added to an agent's run (all seeds)."""

    agent: str
    position: int  # stream position just trained
    task: str  # its task's name
    eval_tasks: list[str]
    points: np.ndarray  # [P] eval point indices (the first record also holds point 0)
    steps: np.ndarray  # [P] global env step of each point
    returns: np.ndarray  # [seeds, P, eval_tasks] mean evaluation return
    scores: np.ndarray  # [seeds, P, eval_tasks] normalized score
    diagnostics: dict[str, np.ndarray]  # name -> [seeds, P]; NaN at point 0


class Logger(Protocol):
    def log(self, record: EvalRecord) -> None:
        """Writes one task's eval points; writing the same record twice is harmless."""

    def finish_agent(self, agent: str, metrics: dict[str, Any]) -> None:
        """The agent's final metrics (means over seeds)."""

    def close(self) -> None: ...


def make_loggers(names: list[str], run_dir: Path, study: dict[str, Any]) -> list[Logger]:
    """The loggers named in the study's `loggers` list, writing under `run_dir`."""
    loggers: list[Logger] = []
    for name in names:
        if name == "tensorboard":
            from lifelong.loggers.tensorboard import TensorBoardLogger
            loggers.append(TensorBoardLogger(run_dir / "tensorboard"))
        elif name == "wandb":
            from lifelong.loggers.wandb import WandbLogger
            loggers.append(WandbLogger(run_dir, study))
        elif name == "l2logger":
            from lifelong.loggers.l2logger import L2Logger
            loggers.append(L2Logger(run_dir / "l2logger", study["scenario"]["name"]))
    return loggers


def scalars(record: EvalRecord, i: int) -> dict[str, float]:
    """Seed-mean scalars of eval point `i` of `record`, named for dashboards."""
    out = {}
    for j, task in enumerate(record.eval_tasks):
        out[f"return/{task}"] = float(record.returns[:, i, j].mean())
        out[f"score/{task}"] = float(record.scores[:, i, j].mean())
    out["score/average"] = float(record.scores[:, i].mean())
    for name, values in record.diagnostics.items():
        if not np.isnan(values[:, i]).all():
            out[f"diagnostics/{name}"] = float(np.nanmean(values[:, i]))
    return out


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """`metrics/<name>` -> the seed mean of every metric with a mean."""
    return {f"metrics/{name}": float(value["mean"]) for name, value in metrics.items()
            if isinstance(value, dict) and "mean" in value}
