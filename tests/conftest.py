"""Shared fixtures: an isolated reference cache, helpers to run small studies, and the
fine-tuning baseline of the forgetting probe (trained once per test session)."""

from __future__ import annotations

import os

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


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` (the longest learning checks) run with LIFELONG_SLOW_TESTS=1
    only, until the whole suite fits CI's time again."""
    if os.environ.get("LIFELONG_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with LIFELONG_SLOW_TESTS=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drops JAX's compiled programs after each test module: one process compiling every
    component's training loop otherwise accumulates executables until XLA's compiler
    crashes (seen as a segfault in backend_compile_and_load late in the suite)."""
    yield
    jax.clear_caches()


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFELONG_CACHE_DIR", str(tmp_path / "cache"))


def compilations(loop: TaskLoop, env) -> int:
    """How often the run's per-task training functions (start, eval period) compiled for
    `env`: 1 when every task on it reused them."""
    training = loop.training(env)
    return max(training.start._cache_size(), training.chunk._cache_size())


def study_loops(overrides: list[str]):
    """The default study with `overrides`, ready to train: ({agent: TaskLoop}, seed keys,
    evaluation params, scenario, study)."""
    study = config.load(None, overrides)
    scenario = make_scenario(study.scenario)
    cfg = study.config
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.seeds)
    loops = {agent.name: TaskLoop(build_agent(agent, scenario, cfg.steps_per_task), evaluator,
                                  cfg.steps_per_task, cfg.eval_every,
                                  scenario.boundaries_visible, multitask=agent.multitask)
             for agent in study.agents}
    return loops, keys, eval_params, scenario, study


def train_runs(overrides: list[str]) -> tuple[dict[str, StreamRun], object, config.Study]:
    """Trains every agent of the default study with `overrides` (no references, no run
    folder); returns ({agent: StreamRun}, scenario, study)."""
    loops, keys, eval_params, scenario, study = study_loops(overrides)
    out = {name: loop.run(keys, scenario.stream_tasks, eval_params)
           for name, loop in loops.items()}
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


def probe_component(components: str) -> tuple[np.ndarray, np.ndarray]:
    """One agent with `components` (a YAML list) on the probe: (per-seed raw forgetting,
    per-seed return on task 1 at the end of task 1)."""
    returns, scenario, study = train_study([*PROBE, f"agents={{a: {{components: {components}}}}}"])
    first_task_end = study.config.steps_per_task // study.config.eval_every
    return raw_forgetting(returns["a"], scenario, study), returns["a"][:, first_task_end, 0]


@pytest.fixture(scope="session")
def finetune_probe() -> np.ndarray:
    """Fine-tuning's raw returns on the probe [seeds, eval_points, tasks]."""
    returns, _, _ = train_study([*PROBE, "agents={finetune: {}}"])
    return returns["finetune"]


@pytest.fixture(scope="session")
def finetune_forgetting(finetune_probe) -> np.ndarray:
    """Fine-tuning's per-seed forgetting on the probe: the baseline of every effect test."""
    study = config.load(None, [*PROBE, "agents={finetune: {}}"])
    return raw_forgetting(finetune_probe, make_scenario(study.scenario), study)
