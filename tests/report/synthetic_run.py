"""A small synthetic run folder in the runner's on-disk format, and its `run_dir` fixture."""

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.evaluation.metrics import StreamLayout, summarize

EVAL_TASKS = ["reach", "push", "pick"]
STREAM = ["reach", "push", "distractor", "reach"]  # a revisit and a task outside the eval set
AGENTS = ["finetune", "ewc"]
DIAGNOSTIC = "dormant_fraction"
SEEDS = [0, 1, 2]
POINTS_PER_TASK = 3
STEPS_PER_TASK = 30_000


def _synthetic_scores(rng: np.random.Generator, layout: StreamLayout, decay: float) -> np.ndarray:
    """Scores that climb towards 1 while a task trains and decay by ``decay`` per eval point."""
    points = 1 + len(STREAM) * POINTS_PER_TASK
    scores = np.zeros((len(SEEDS), points, len(EVAL_TASKS)))  # [seeds, eval_points, eval_tasks]
    for p in range(1, points):
        k = (p - 1) // POINTS_PER_TASK
        trained = layout.stream_to_eval[k]
        scores[:, p] = scores[:, p - 1] * (1 - decay)
        if trained >= 0:
            previous = scores[:, p - 1, trained]
            scores[:, p, trained] = previous + 0.6 * (1 - previous)
    return scores + rng.normal(0, 0.03, scores.shape)


def _write_run(run_dir: Path) -> None:
    """Write config, layout, baselines, R/<agent>.parquet and metrics.json like the runner."""
    stream_to_eval = [EVAL_TASKS.index(t) if t in EVAL_TASKS else -1 for t in STREAM]
    task_end = [POINTS_PER_TASK * (k + 1) for k in range(len(STREAM))]
    window_start = [POINTS_PER_TASK * k + 1 for k in range(len(STREAM))]
    points = 1 + len(STREAM) * POINTS_PER_TASK
    eval_steps = [p * STEPS_PER_TASK // POINTS_PER_TASK for p in range(points)]
    layout = StreamLayout(np.array(stream_to_eval), np.array(task_end), np.array(window_start))
    (run_dir / "R").mkdir(parents=True)
    (run_dir / "config.yaml").write_text("study: synthetic\nseeds: 3\nagents: [finetune, ewc]\n")
    (run_dir / "layout.json").write_text(
        json.dumps(
            {
                "eval_tasks": EVAL_TASKS,
                "stream": STREAM,
                "stream_to_eval": stream_to_eval,
                "task_end_eval": task_end,
                "window_start_eval": window_start,
                "eval_steps": eval_steps,
                "steps_per_task": STEPS_PER_TASK,
            }
        )
    )
    baselines = {t: {"random": -10.0, "reference": 90.0, "reference_auc": 0.4} for t in EVAL_TASKS}
    (run_dir / "baselines.json").write_text(json.dumps(baselines))
    rng = np.random.default_rng(0)
    metrics = {}
    for agent, decay in zip(AGENTS, np.linspace(0.3, 0.05, len(AGENTS)), strict=True):
        scores = _synthetic_scores(rng, layout, decay)
        metrics[agent] = summarize(scores, layout, np.full(len(EVAL_TASKS), 0.4))
        s, p, j = np.meshgrid(*(np.arange(n) for n in scores.shape), indexing="ij")
        table = pa.table(
            {
                "seed": pa.array(np.asarray(SEEDS)[s.ravel()], pa.int64()),
                "eval_point": pa.array(p.ravel(), pa.int64()),
                "env_step": pa.array(np.asarray(eval_steps)[p.ravel()], pa.int64()),
                "task": pa.array([EVAL_TASKS[i] for i in j.ravel()], pa.string()),
                "task_index": pa.array(j.ravel(), pa.int64()),
                "return": pa.array(-10.0 + 100.0 * scores.ravel(), pa.float64()),
                "score": pa.array(scores.ravel(), pa.float64()),
            }
        )
        # Shuffled rows: the loader must not rely on the runner's row order.
        pq.write_table(
            table.take(rng.permutation(table.num_rows)), run_dir / "R" / f"{agent}.parquet"
        )
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    _write_diagnostics(run_dir / "diagnostics" / f"{AGENTS[0]}.parquet", points)


def _write_diagnostics(path: Path, points: int) -> None:
    """Diagnostics for the first agent only (from eval point 1 on, like the runner), so the
    report must cope with agents that logged none."""
    seed, point = (
        a.ravel() for a in np.meshgrid(np.arange(len(SEEDS)), np.arange(1, points), indexing="ij")
    )
    path.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "seed": pa.array(seed, pa.int64()),
                "eval_point": pa.array(point, pa.int64()),
                "env_step": pa.array(point * (STEPS_PER_TASK // POINTS_PER_TASK), pa.int64()),
                DIAGNOSTIC: pa.array(diagnostic_value(seed, point), pa.float64()),
            }
        ),
        path,
    )


def diagnostic_value(seed: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The synthetic dormant fraction of seed position ``seed`` at eval point ``point``."""
    return 0.01 * point + 0.001 * seed


@pytest.fixture(name="run_dir")
def run_dir_fixture(tmp_path: Path) -> Path:
    _write_run(tmp_path / "run")
    return tmp_path / "run"
