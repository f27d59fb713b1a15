"""A study, the main job: references, every agent over every seed, metrics, run folder, report.

A run folder never loses what it holds: `run_study` refuses a non-empty folder unless told
to overwrite a run folder, every agent's results are written as soon as it finishes, and a
checkpoint (`checkpoints/<agent>.ckpt`) is written after every task and, inside a task, every
`checkpoint_minutes`, so `resume_study` continues a killed study where it stopped,
bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import datetime
import json
import shutil
import time
from pathlib import Path

import jax
import numpy as np

from lifelong import config
from lifelong.config import Study
from lifelong.errors import ConfigError, RunError
from lifelong.evaluation.metrics import summarize
from lifelong.evaluation.reference import Baseline, ReferenceRunner
from lifelong.loggers import EvalRecord, Logger, make_loggers
from lifelong.runner import checkpoint, results
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import (
    Diverged,
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


def run_study(study: Study, out: str | Path | None = None, progress: bool = True,
              overwrite: bool = False) -> Path:
    """Runs `study` and writes its run folder; returns the folder's path.

    A non-empty `out` is refused; with `overwrite`, a previous run folder there is replaced.
    """
    run_dir = Path(out) if out is not None else default_run_dir(study)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise ConfigError("--out", f"{run_dir} is not empty; continue it with --resume, "
                              "replace it with --overwrite, or choose a new folder")
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError("--overwrite", f"{run_dir} is not a lifelong run folder (no "
                              "config.yaml); only run folders are overwritten")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    results.write_config(run_dir, study.dump())
    return _execute(study, run_dir, progress)


def resume_study(run_dir: str | Path, progress: bool = True) -> Path:
    """Continues the study in `run_dir` from its checkpoints; finished agents are kept."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise ConfigError("--resume", f"{run_dir} is not a lifelong run folder (no config.yaml)")
    return _execute(config.load(run_dir / "config.yaml"), run_dir, progress)


def _execute(study: Study, run_dir: Path, progress: bool) -> Path:
    scenario = make_scenario(study.scenario)
    learners = {agent.name: build_agent(agent, scenario, study.config.steps_per_task)
                for agent in study.agents}
    digest = checkpoint.config_digest(study.dump())
    cfg = study.config
    results.write_layout(run_dir, scenario, cfg.steps_per_task, cfg.eval_every)
    for path in sorted((run_dir / "checkpoints").glob("*.ckpt")):
        checkpoint.verify(path, digest)  # a bad checkpoint fails now, not after hours
    loggers = make_loggers(cfg.loggers, run_dir, study.dump())
    try:
        _train(study, scenario, learners, run_dir, digest, loggers, progress)
    finally:
        for logger in loggers:
            logger.close()
    return run_dir


def _scores(returns: np.ndarray, baselines: list[Baseline]) -> np.ndarray:
    return np.stack([b.normalize(returns[..., j]) for j, b in enumerate(baselines)], -1)


def _train(study: Study, scenario, learners: dict, run_dir: Path, digest: str,
           loggers: list[Logger], progress: bool) -> None:
    """References, then every unfinished agent: trained, checkpointed, logged, written."""
    cfg = study.config
    keys = seed_keys(cfg.seed, cfg.seeds)
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    eval_names = [scenario.tasks[i].name for i in scenario.eval_tasks]
    total = cfg.steps_per_task * padded_seed_count(cfg.seeds)  # progress counts padding
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    evals = cfg.steps_per_task // cfg.eval_every

    with StudyProgress(enabled=progress) as bar:
        # A success rate (Meta-World) is already a score in [0, 1]: it is not normalized,
        # as in Continual World. An offline task's return is normalized between its dataset's
        # reference scores (Minari's normalized score); other returns between random and the
        # reference run.
        success = [getattr(scenario.tasks[i].env, "success", False) for i in scenario.eval_tasks]
        datasets = [scenario.tasks[i].dataset for i in scenario.eval_tasks]
        random = (np.zeros(len(success)) if all(success) or scenario.offline
                  else random_returns(scenario, evaluator, eval_params, keys))
        baselines = []
        references = ReferenceRunner(study, scenario, bar.on_eval)
        for j, task_index in enumerate(scenario.eval_tasks):
            bar.start_agent(f"reference {j + 1}", total, cfg.eval_every, 1)
            try:
                curve = references.returns(task_index).mean(axis=0)
            except Diverged as error:
                raise RunError(f"the single-task reference run on {eval_names[j]!r} diverged "
                               f"({error}); lower the learning rate") from None
            if success[j]:
                anchors = (0.0, 1.0)
            elif datasets[j] is not None:
                anchors = (datasets[j].ref_min_score, datasets[j].ref_max_score)
            else:
                anchors = (float(random[j]), float(curve[-1]))
            baselines.append(Baseline(*anchors, curve))
        results.write_baselines(run_dir, eval_names, baselines)

        layout = results.stream_layout(scenario, cfg.steps_per_task // cfg.eval_every)
        reference_auc = np.array([b.reference_auc for b in baselines])
        for agent in study.agents:
            if agent.name in metrics:
                continue  # finished before a resume
            learner = learners[agent.name]
            loop = TaskLoop(learner, evaluator, cfg.steps_per_task, cfg.eval_every,
                            scenario.boundaries_visible, bar.on_eval, agent.multitask)
            path = run_dir / "checkpoints" / f"{agent.name}.ckpt"
            resume, elapsed = None, 0.0
            if path.is_file():
                template = jax.eval_shape(jax.vmap(learner.init), keys)
                resume, elapsed = checkpoint.load(path, template, digest)
            done = 0 if resume is None else resume.position
            bar.start_agent(agent.name, total * len(scenario.stream), cfg.eval_every,
                            len(scenario.stream), total * done)
            started = time.perf_counter() - elapsed

            logged = [done]  # stream positions whose eval points the loggers have

            def save(snapshot: checkpoint.Snapshot, path=path, name=agent.name,
                     started=started, logged=logged) -> None:
                # Loggers get whole tasks, first: a kill in between re-logs a task, never skips it.
                if loggers and snapshot.evals_done == 0:
                    record = _record(name, snapshot, logged[0], scenario, eval_names, evals,
                                     cfg.eval_every, baselines)
                    for logger in loggers:
                        logger.log(record)
                    logged[0] = snapshot.position
                checkpoint.save(path, name, snapshot, digest, time.perf_counter() - started)

            try:
                run = loop.run(keys, scenario.stream_tasks, eval_params, bar.on_task, resume,
                               save, 60 * cfg.checkpoint_minutes)
            except Diverged as error:
                kept = "there is no checkpoint yet"
                if path.is_file():
                    header, _ = checkpoint.verify(path, digest)
                    inside = (f" and {header['evals_done']} eval period(s) of the next"
                              if header["evals_done"] else "")
                    kept = (f"the checkpoint after position {header['position']}{inside} is "
                            f"kept in {path}")
                raise RunError(f"agent {agent.name!r} diverged at {error}; {kept}. Lower the "
                               "learning rate or a component's strength") from None
            wall_clock = time.perf_counter() - started
            returns = run.returns
            scores = _scores(returns, baselines)
            results.write_returns(run_dir, agent.name, returns, scores, eval_names,
                                  cfg.eval_every)
            results.write_diagnostics(run_dir, agent.name, run.diagnostics, cfg.eval_every)
            metrics[agent.name] = summarize(scores, layout, reference_auc)
            metrics[agent.name]["diagnostics"] = results.final_diagnostics(run.diagnostics)
            metrics[agent.name]["wall_clock_s"] = wall_clock  # compilation included
            results.write_metrics(run_dir, metrics)  # after every agent: nothing is lost
            for logger in loggers:
                logger.finish_agent(agent.name, metrics[agent.name])


def _record(agent: str, snapshot: checkpoint.Snapshot, logged: int, scenario,
            eval_names: list[str], evals: int, eval_every: int,
            baselines: list[Baseline]) -> EvalRecord:
    """The eval points that stream positions `logged`..`snapshot.position` added (with
    point 0, the untrained agent, in the first record)."""
    first = 0 if logged == 0 else 1 + logged * evals
    points = np.arange(first, 1 + snapshot.position * evals)
    returns = snapshot.returns[:, points]
    no_point_0 = np.full((returns.shape[0], 1), np.nan)  # diagnostics start at point 1
    diagnostics = {name: np.concatenate([no_point_0, values], axis=1)[:, points]
                   for name, values in snapshot.diagnostics.items()}
    trained = snapshot.position - logged
    task = (scenario.stream_tasks[snapshot.position - 1].name if trained == 1
            else "all tasks")
    return EvalRecord(agent, snapshot.position - 1, task, eval_names, points,
                      points * eval_every, returns, _scores(returns, baselines), diagnostics)
