"""TensorBoard event files (tensorboardX), one run per agent: `tensorboard/<agent>/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lifelong.errors import ConfigError
from lifelong.loggers.record import EvalRecord, headline, scalars


class TensorBoardLogger:
    def __init__(self, root: Path):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ConfigError("loggers", "tensorboard needs tensorboardX: pip install "
                              "'lifelong[logging]'") from None
        self._writer_type, self._root = SummaryWriter, root
        self._writers: dict[str, Any] = {}
        self._last_step: dict[str, int] = {}

    def _writer(self, agent: str, first_step: int | None):
        if agent not in self._writers:
            # purge_step: a resumed run drops what a killed one logged past its checkpoint.
            self._writers[agent] = self._writer_type(str(self._root / agent),
                                                     purge_step=first_step)
        return self._writers[agent]

    def log(self, record: EvalRecord) -> None:
        writer = self._writer(record.agent, int(record.steps[0]))
        for i, step in enumerate(record.steps):
            for tag, value in scalars(record, i).items():
                writer.add_scalar(tag, value, int(step))
        writer.flush()
        self._last_step[record.agent] = int(record.steps[-1])

    def finish_agent(self, agent: str, metrics: dict[str, Any]) -> None:
        writer = self._writer(agent, None)
        for tag, value in headline(metrics).items():
            writer.add_scalar(tag, value, self._last_step.get(agent, 0))
        writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
