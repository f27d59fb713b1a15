"""Writes the run folder's data files (the report is built from them by `lifelong.report`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from lifelong.atomic import atomic_write
from lifelong.evaluation.metrics import StreamLayout
from lifelong.evaluation.reference import Baseline
from lifelong.scenarios import Scenario


def write_config(run_dir: Path, resolved: dict[str, Any]) -> None:
    atomic_write(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))


def stream_layout(scenario: Scenario, evals_per_task: int) -> StreamLayout:
    """Where each stream position's training window lies among the eval points."""
    positions = np.arange(len(scenario.stream))
    return StreamLayout(stream_to_eval=scenario.stream_to_eval,
                        task_end_eval=(positions + 1) * evals_per_task,
                        window_start_eval=positions * evals_per_task + 1)


def write_layout(run_dir: Path, scenario: Scenario, steps_per_task: int, eval_every: int) -> None:
    evals = steps_per_task // eval_every
    stream = stream_layout(scenario, evals)
    layout = {
        "eval_tasks": [scenario.tasks[i].name for i in scenario.eval_tasks],
        "stream": [task.name for task in scenario.stream_tasks],
        "stream_to_eval": stream.stream_to_eval.tolist(),
        "task_end_eval": stream.task_end_eval.tolist(),
        "window_start_eval": stream.window_start_eval.tolist(),
        "eval_steps": (np.arange(len(scenario.stream) * evals + 1) * eval_every).tolist(),
        "steps_per_task": steps_per_task,
    }
    atomic_write(run_dir / "layout.json", json.dumps(layout, indent=2))


def write_baselines(run_dir: Path, names: list[str], baselines: list[Baseline]) -> None:
    data = {
        name: {"random": b.random, "reference": b.reference, "reference_auc": b.reference_auc,
               "reference_curve": b.curve.tolist()}
        for name, b in zip(names, baselines)
    }
    atomic_write(run_dir / "baselines.json", json.dumps(data, indent=2))


def write_returns(run_dir: Path, agent: str, returns: np.ndarray, scores: np.ndarray,
                  task_names: list[str], eval_every: int) -> None:
    """R/<agent>.parquet in long format, one row per (seed, eval point, task)."""
    seeds, points, tasks = returns.shape  # [seeds, eval_points, eval_tasks]
    seed, point, task = (a.ravel() for a in np.meshgrid(
        np.arange(seeds), np.arange(points), np.arange(tasks), indexing="ij"))
    table = pa.table({
        "seed": pa.array(seed, pa.int64()),
        "eval_point": pa.array(point, pa.int64()),
        "env_step": pa.array(point * eval_every, pa.int64()),
        "task": pa.array([task_names[t] for t in task], pa.string()),
        "task_index": pa.array(task, pa.int64()),
        "return": pa.array(returns.ravel(), pa.float64()),
        "score": pa.array(scores.ravel(), pa.float64()),
    })
    _write_parquet(table, run_dir / "R" / f"{agent}.parquet")


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def write_diagnostics(run_dir: Path, agent: str, diagnostics: dict[str, np.ndarray],
                      eval_every: int) -> None:
    """diagnostics/<agent>.parquet, one row per (seed, eval point >= 1), a column each."""
    seeds, points = next(iter(diagnostics.values())).shape  # [seeds, eval_points - 1]
    seed, point = (a.ravel() for a in np.meshgrid(np.arange(seeds), np.arange(1, points + 1),
                                                  indexing="ij"))
    columns = {"seed": pa.array(seed, pa.int64()), "eval_point": pa.array(point, pa.int64()),
               "env_step": pa.array(point * eval_every, pa.int64())}
    columns.update({name: pa.array(np.asarray(v, np.float64).ravel())
                    for name, v in diagnostics.items()})
    _write_parquet(pa.table(columns), run_dir / "diagnostics" / f"{agent}.parquet")


def final_diagnostics(diagnostics: dict[str, np.ndarray]) -> dict[str, float]:
    """Each diagnostic at the last eval point, averaged over seeds (NaN seeds skipped; a
    diagnostic that is NaN for every seed is left out)."""
    return {name: float(np.nanmean(values[:, -1])) for name, values in diagnostics.items()
            if not np.isnan(values[:, -1]).all()}


def write_metrics(run_dir: Path, metrics: dict[str, dict]) -> None:
    atomic_write(run_dir / "metrics.json", json.dumps(metrics, indent=2))
