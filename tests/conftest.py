"""Shared fixtures: an isolated reference cache, helpers to run small studies, and the
fine-tuning baseline of the forgetting probe (trained once per test session)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from lifelong import config
from lifelong.evaluation.metrics import forgetting
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import StreamRun, TaskLoop, make_evaluator
from lifelong.runner.results import stream_layout
from lifelong.scenarios import make_scenario

# The forgetting probe: 2 permuted-CartPole tasks, 4 seeds, fixed keys, greedy evaluation.
PROBE = ["scenario.num_tasks=2", "seeds=4", "steps_per_task=102400", "eval_every=51200",
         "eval.greedy=true"]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFELONG_CACHE_DIR", str(tmp_path / "cache"))


def train_runs(overrides: list[str]) -> tuple[dict[str, StreamRun], object, config.Study]:
    """Trains every agent of the default study with `overrides` (no references, no run
    folder); returns ({agent: StreamRun}, scenario, study)."""
    study = config.load(None, overrides)
    scenario = make_scenario(study.scenario)
    cfg = study.config
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.seeds)
    out = {}
    for agent in study.agents:
        loop = TaskLoop(build_agent(agent, scenario, cfg.steps_per_task), evaluator,
                        cfg.steps_per_task, cfg.eval_every, scenario.boundaries_visible,
                        multitask=agent.multitask)
        out[agent.name] = loop.run(keys, scenario.stream_tasks, eval_params)
    return out, scenario, study


def train_study(overrides: list[str]) -> tuple[dict[str, np.ndarray], object, config.Study]:
    """As `train_runs`, returning only the raw returns [seeds, eval_points, eval_tasks]."""
    runs, scenario, study = train_runs(overrides)
    return {name: run.returns for name, run in runs.items()}, scenario, study


def raw_forgetting(returns: np.ndarray, scenario, study) -> np.ndarray:
    """Per-seed forgetting in raw return units (task end minus run end)."""
    cfg = study.config
    layout = stream_layout(scenario, cfg.steps_per_task // cfg.eval_every)
    return forgetting(returns, layout)


def significantly_less(method: np.ndarray, baseline: np.ndarray) -> bool:
    """One-sided Welch criterion: the mean gap exceeds two standard errors."""
    gap = baseline.mean() - method.mean()
    stderr = np.sqrt(baseline.var(ddof=1) / baseline.size + method.var(ddof=1) / method.size)
    return gap > 2 * stderr


def probe_forgetting(agents: str, extra: list[str] = ()) -> dict[str, np.ndarray]:
    """Per-seed raw forgetting of each agent (a YAML mapping) on the forgetting probe."""
    returns, scenario, study = train_study([*PROBE, *extra, f"agents={agents}"])
    return {name: raw_forgetting(r, scenario, study) for name, r in returns.items()}


@pytest.fixture(scope="session")
def finetune_forgetting() -> np.ndarray:
    """Fine-tuning's per-seed forgetting on the probe: the baseline of every effect test."""
    return probe_forgetting("{finetune: {}}")["finetune"]
