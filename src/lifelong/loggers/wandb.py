"""Weights & Biases: one W&B run per agent, grouped by run folder, offline unless told.

W&B's own `WANDB_MODE` (default here: `offline`, which needs no network or account; sync
later with `wandb sync RUN_DIR/wandb/offline-run-*`) and `WANDB_PROJECT` (default
`lifelong`) apply. A run's id is derived from the run folder and agent, so a resumed study
continues the same W&B runs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from lifelong.errors import ConfigError
from lifelong.loggers.record import EvalRecord, headline, scalars


class WandbLogger:
    def __init__(self, run_dir: Path, study: dict[str, Any]):
        try:
            import wandb
        except ImportError:
            raise ConfigError("loggers", "wandb needs the wandb package: pip install "
                              "'lifelong[logging]'") from None
        self._wandb, self._dir, self._study = wandb, run_dir, study
        self._run, self._agent = None, None

    def _start(self, agent: str) -> None:
        if self._agent == agent:
            return
        self._finish()
        run_id = hashlib.sha256(f"{self._dir.resolve()}/{agent}".encode()).hexdigest()[:16]
        self._run = self._wandb.init(
            project=os.environ.get("WANDB_PROJECT", "lifelong"), dir=str(self._dir),
            name=f"{self._dir.name}/{agent}", group=self._dir.name, id=run_id,
            resume="allow", config={"agent": agent, **self._study},
            mode=os.environ.get("WANDB_MODE", "offline"))
        self._agent = agent

    def log(self, record: EvalRecord) -> None:
        self._start(record.agent)
        for i, step in enumerate(record.steps):
            self._run.log(scalars(record, i), step=int(step))

    def finish_agent(self, agent: str, metrics: dict[str, Any]) -> None:
        self._start(agent)
        self._run.summary.update(headline(metrics))
        self._finish()

    def _finish(self) -> None:
        if self._run is not None:
            self._run.finish()
        self._run, self._agent = None, None

    def close(self) -> None:
        self._finish()
