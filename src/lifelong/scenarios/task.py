"""`Task` and `Scenario`: what an agent is trained and evaluated on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import jax
import numpy as np

from lifelong.datasets.dataset import Dataset
from lifelong.envs import TaskEnv, TaskParams


@dataclass(frozen=True, eq=False)
class Task:
    """One task: a static environment plus the traced parameters that make it this task.

    An offline task also has a `dataset`: it is trained on the dataset only, and the env
    serves its evaluation."""

    name: str
    env: TaskEnv
    params: TaskParams
    dataset: Dataset | None = None

    def fingerprint(self) -> str:
        """Content hash of everything that defines the task (used to cache reference runs)."""
        digest = hashlib.sha256(self.env.name.encode())
        digest.update(f"{self.env.obs_dim}:{self.env.action_dim}".encode())
        for leaf in jax.tree.leaves(self.params):
            array = np.asarray(leaf)
            digest.update(str(array.dtype).encode() + array.tobytes())
        if self.dataset is not None:
            digest.update(self.dataset.fingerprint().encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Scenario:
    """An ordered training stream over distinct tasks, an eval set and visibility flags.

    `stream[k]` and `eval_tasks[j]` index into `tasks`; a task may occur in the stream
    several times (cycles, reoccurrence).
    """

    name: str
    tasks: tuple[Task, ...]
    stream: tuple[int, ...]
    eval_tasks: tuple[int, ...]
    task_id_visible: bool
    boundaries_visible: bool

    @property
    def host_stepped(self) -> bool:
        """Whether the tasks are Gymnasium envs stepped on the host (never mixed with gymnax)."""
        return self.tasks[0].env.host_stepped

    @property
    def offline(self) -> bool:
        """Whether the tasks are datasets (never mixed with online tasks)."""
        return self.tasks[0].dataset is not None

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def stream_tasks(self) -> list[Task]:
        return [self.tasks[i] for i in self.stream]

    @property
    def stream_to_eval(self) -> np.ndarray:
        """[K] eval-task index of each stream position, -1 when it is not evaluated."""
        lookup = {task: j for j, task in enumerate(self.eval_tasks)}
        return np.array([lookup.get(i, -1) for i in self.stream], np.int64)

    def eval_groups(self) -> list[tuple[TaskEnv, list[int]]]:
        """Eval-task positions grouped by environment (each group is evaluated in one vmap)."""
        groups: dict[TaskEnv, list[int]] = {}
        for j, i in enumerate(self.eval_tasks):
            groups.setdefault(self.tasks[i].env, []).append(j)
        return list(groups.items())
