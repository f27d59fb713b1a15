"""Shared fixtures: an isolated reference cache, and a helper to run small studies."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from lifelong import config
from lifelong.evaluation.metrics import forgetting
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator
from lifelong.runner.results import stream_layout
from lifelong.scenarios import make_scenario


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFELONG_CACHE_DIR", str(tmp_path / "cache"))


def train_study(overrides: list[str]) -> dict[str, np.ndarray]:
    """Trains every agent of the default study with `overrides`; returns raw returns
    [seeds, eval_points, eval_tasks] per agent (no references, no run folder)."""
    study = config.load(None, overrides)
    scenario = make_scenario(study.scenario)
    cfg = study.config
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.seeds)
    out = {}
    for agent in study.agents:
        loop = TaskLoop(build_agent(agent, scenario), evaluator, cfg.steps_per_task,
                        cfg.eval_every, scenario.boundaries_visible)
        out[agent.name], _ = loop.run(keys, scenario.stream_tasks, eval_params)
    return out, scenario, study


def raw_forgetting(returns: np.ndarray, scenario, study) -> np.ndarray:
    """Per-seed forgetting in raw return units (task end minus run end)."""
    cfg = study.config
    layout = stream_layout(scenario, cfg.steps_per_task // cfg.eval_every)
    return forgetting(returns, layout)
