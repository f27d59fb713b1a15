"""Score normalization anchors: a uniform-random policy and a single-task reference run.

A task's normalized score is (R - random) / (reference - random). The reference is the same
learner (no components) trained on that task alone with the study's budget and seeds; its
evaluation curve is also the baseline of forward transfer. Reference runs are cached on
disk by a content hash of everything that determines them, so they run once per setting.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from lifelong.atomic import atomic_write
from lifelong.config import Agent, Study
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator, seed_keys
from lifelong.scenarios import Scenario

CACHE_VERSION = 3  # 3: continuous actions normalized to [-1, 1]


def cache_dir() -> Path:
    """`$LIFELONG_CACHE_DIR/references`, default `~/.cache/lifelong/references`."""
    root = os.environ.get("LIFELONG_CACHE_DIR") or Path.home() / ".cache" / "lifelong"
    return Path(root) / "references"


@dataclass(frozen=True)
class Baseline:
    # The returns that score 0 and 1: a uniform-random policy's mean return and the reference
    # run's final one; (0, 1) for success rates; a dataset's reference scores offline.
    random: float
    reference: float
    curve: np.ndarray  # [eval_points] reference mean return, point 0 before training

    def normalize(self, returns: np.ndarray) -> np.ndarray:
        span = self.reference - self.random
        return (returns - self.random) / (span if abs(span) > 1e-8 else 1.0)

    @property
    def reference_auc(self) -> float:
        """Mean normalized reference score over its training window (points 1..end)."""
        return float(self.normalize(self.curve[1:]).mean())


def reference_key(study: Study, learner: BaseModel, fingerprint: str) -> str:
    config = study.config
    content = {
        "version": CACHE_VERSION, "learner": learner.model_dump(), "task": fingerprint,
        "steps_per_task": config.steps_per_task, "eval_every": config.eval_every,
        "seeds": config.seeds, "seed": config.seed, "eval": config.eval.model_dump(),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]


def single_task_scenario(scenario: Scenario, task_index: int) -> Scenario:
    return Scenario(name=f"{scenario.name}/{scenario.tasks[task_index].name}",
                    tasks=(scenario.tasks[task_index],), stream=(0,), eval_tasks=(0,),
                    task_id_visible=scenario.task_id_visible, boundaries_visible=True)


class ReferenceRunner:
    """Single-task reference runs of the study's learner, one compilation for all tasks."""

    def __init__(self, study: Study, scenario: Scenario, on_eval=None):
        self.study, self.scenario, self.on_eval = study, scenario, on_eval
        self._loop: TaskLoop | None = None
        self._loop_env = None

    def _single(self, task_index: int) -> tuple[Scenario, tuple]:
        single = single_task_scenario(self.scenario, task_index)
        eval_cfg = self.study.config.eval
        evaluator, eval_params = make_evaluator(single, eval_cfg.episodes, eval_cfg.greedy,
                                                eval_cfg.max_steps)
        env = single.tasks[0].env
        if self._loop is not None and env.host_stepped:
            # Host-stepped tasks share one spec: one learner, loop and compiled steps serve
            # them all; only the evaluator (which holds the eval task) changes.
            self._loop.evaluator = evaluator
        elif self._loop is None or self._loop_env is not env:  # gymnax: compiled per env
            agent = Agent(name="reference", learner=self.study.learner, components=[])
            self._loop = TaskLoop(build_agent(agent, single, self.study.config.steps_per_task),
                                  evaluator, self.study.config.steps_per_task,
                                  self.study.config.eval_every, on_eval=self.on_eval)
            self._loop_env = env
        return single, eval_params

    def returns(self, task_index: int) -> np.ndarray:
        """[seeds, eval_points] returns of the reference run on one task (cached on disk).

        Always float64, so a cached reference gives exactly the numbers a fresh one does."""
        task = self.scenario.tasks[task_index]
        key = reference_key(self.study, self.study.learner, task.fingerprint())
        path = cache_dir() / f"{key}.json"
        if path.is_file():
            return np.asarray(json.loads(path.read_text())["returns"], np.float64)
        single, eval_params = self._single(task_index)
        keys = seed_keys(self.study.config.seed, self.study.config.seeds)
        returns = self._loop.run(keys, single.stream_tasks, eval_params).returns[:, :, 0]
        returns = returns.astype(np.float64)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"task": task.name, "returns": returns.tolist()}))
        return returns
