"""A study, the main job: references, every agent over every seed, metrics, run folder, report."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import numpy as np

from lifelong.config import Study
from lifelong.errors import ConfigError
from lifelong.evaluation.metrics import summarize
from lifelong.evaluation.reference import Baseline, ReferenceRunner
from lifelong.runner import results
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import (
    TaskLoop,
    make_evaluator,
    padded_seed_count,
    random_returns,
    seed_keys,
)
from lifelong.runner.progress import StudyProgress
from lifelong.scenarios import make_scenario


def default_run_dir(study: Study) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-{study.scenario.name}"


def run_study(study: Study, out: str | Path | None = None, progress: bool = True) -> Path:
    """Runs `study` and writes its run folder; returns the folder's path."""
    scenario = make_scenario(study.scenario)
    learners = {agent.name: build_agent(agent, scenario, study.config.steps_per_task)
                for agent in study.agents}
    run_dir = Path(out) if out is not None else default_run_dir(study)
    if (run_dir / "metrics.json").exists():
        raise ConfigError("--out", f"{run_dir} already holds a finished run; choose a new "
                          "folder so its results are not overwritten")
    run_dir.mkdir(parents=True, exist_ok=True)
    results.write_config(run_dir, study.dump())
    cfg = study.config
    results.write_layout(run_dir, scenario, cfg.steps_per_task, cfg.eval_every)
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    keys = seed_keys(cfg.seed, cfg.seeds)
    eval_names = [scenario.tasks[i].name for i in scenario.eval_tasks]
    total = cfg.steps_per_task * padded_seed_count(cfg.seeds)  # progress counts padding

    with StudyProgress(enabled=progress) as bar:
        random = random_returns(scenario, evaluator, eval_params, keys)
        baselines = []
        references = ReferenceRunner(study, scenario, bar.on_eval)
        for j, task_index in enumerate(scenario.eval_tasks):
            bar.start_agent(f"reference {j + 1}", total, cfg.eval_every, 1)
            curve = references.returns(task_index).mean(axis=0)
            baselines.append(Baseline(float(random[j]), float(curve[-1]), curve))
        results.write_baselines(run_dir, eval_names, baselines)

        layout = results.stream_layout(scenario, cfg.steps_per_task // cfg.eval_every)
        reference_auc = np.array([b.reference_auc for b in baselines])
        metrics = {}
        for agent in study.agents:
            bar.start_agent(agent.name, total * len(scenario.stream), cfg.eval_every,
                            len(scenario.stream))
            loop = TaskLoop(learners[agent.name], evaluator, cfg.steps_per_task, cfg.eval_every,
                            scenario.boundaries_visible, bar.on_eval, agent.multitask)
            started = time.perf_counter()
            run = loop.run(keys, scenario.stream_tasks, eval_params, bar.on_task)
            wall_clock = time.perf_counter() - started
            returns = run.returns
            scores = np.stack([b.normalize(returns[..., j]) for j, b in enumerate(baselines)], -1)
            results.write_returns(run_dir, agent.name, returns, scores, eval_names,
                                  cfg.eval_every)
            results.write_diagnostics(run_dir, agent.name, run.diagnostics, cfg.eval_every)
            metrics[agent.name] = summarize(scores, layout, reference_auc)
            metrics[agent.name]["diagnostics"] = results.final_diagnostics(run.diagnostics)
            metrics[agent.name]["wall_clock_s"] = wall_clock  # compilation included
            results.write_metrics(run_dir, metrics)  # after every agent: nothing is lost
    return run_dir
