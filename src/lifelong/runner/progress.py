"""Rich progress display: agent, task i/N, env steps, steps/s and recent training return."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class StudyProgress:
    """One bar per trained agent; fed from inside the jitted scan via `jax.debug.callback`."""

    def __init__(self, console: Console | None = None, enabled: bool = True):
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[agent]}"),
            TextColumn("task {task.fields[position]}"),
            BarColumn(bar_width=20),
            TextColumn("{task.completed:,.0f} steps"),
            TextColumn("{task.fields[rate]} steps/s"),
            TextColumn("return {task.fields[ret]}"),
            TimeElapsedColumn(),
            console=self.console, disable=not enabled,
        )
        self._bar = None
        self._eval_every = 0
        self._started = 0.0
        self._done = self._completed = 0

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start_agent(self, name: str, total_steps: int, eval_every: int, num_tasks: int,
                    done_steps: int = 0) -> None:
        """A new bar; `done_steps` were trained before (a resumed run)."""
        self._bar = self._progress.add_task("", total=total_steps, agent=name,
                                            completed=done_steps, position=f"1/{num_tasks}",
                                            rate="-", ret="-")
        self._eval_every, self._num_tasks = eval_every, num_tasks
        self._started = time.perf_counter()
        self._done, self._completed = done_steps, 0

    def on_task(self, position: int) -> None:
        self._progress.update(self._bar, position=f"{position + 1}/{self._num_tasks}")

    def on_eval(self, return_sum: np.ndarray, episodes: np.ndarray) -> None:
        """Called once per eval chunk (per seed, or once with a seed batch)."""
        steps = self._eval_every * np.size(return_sum)
        count = float(np.sum(episodes))
        ret = f"{float(np.sum(return_sum)) / count:.1f}" if count else "-"
        self._completed += steps
        rate = self._completed / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._bar, completed=self._done + self._completed,
                              rate=f"{rate:,.0f}", ret=ret)
