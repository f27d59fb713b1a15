"""Read a finished run folder (layout, baselines, metrics, per-agent results and diagnostics).

The runner writes results in long format; the report wants dense arrays, so each agent's
parquet file is rebuilt here into ``[seeds, eval_points, eval_tasks]`` tensors once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from lifelong.evaluation.metrics import StreamLayout

_REQUIRED = ("layout.json", "baselines.json", "metrics.json")
_COLUMNS = ["seed", "eval_point", "task", "task_index", "return", "score"]


@dataclass(frozen=True, eq=False)
class RunLayout:
    """Stream layout plus the names and env steps needed to label it."""

    stream: StreamLayout
    eval_tasks: tuple[str, ...]  # [eval_tasks]
    stream_tasks: tuple[str, ...]  # [K]
    eval_steps: np.ndarray  # [eval_points] global env step of each eval point
    steps_per_task: int

    @property
    def num_eval_points(self) -> int:
        return len(self.eval_steps)

    def window_bounds(self) -> list[tuple[float, float]]:
        """Env-step span of each stream position: previous task end to this task end."""
        ends = self.stream.task_end_eval
        starts = [self.eval_steps[0]] + [self.eval_steps[e] for e in ends[:-1]]
        return [(float(s), float(self.eval_steps[e])) for s, e in zip(starts, ends, strict=True)]


@dataclass(frozen=True, eq=False)
class RunData:
    """Everything the report needs from one run folder; agents are in display order."""

    run_dir: Path
    agents: tuple[str, ...]
    layout: RunLayout
    baselines: dict[str, dict[str, float]]  # eval task -> {"random", "reference", "reference_auc"}
    metrics: dict[str, dict[str, dict]]  # agent -> metric -> {"mean", "ci_low", ...}
    seeds: dict[str, np.ndarray]  # agent -> [seeds] seed ids
    scores: dict[str, np.ndarray]  # agent -> [seeds, eval_points, eval_tasks] normalized
    returns: dict[str, np.ndarray]  # agent -> [seeds, eval_points, eval_tasks] raw returns
    # agent -> diagnostic name -> [seeds, eval_points]; NaN where not logged (eval point 0).
    # Empty for an agent whose run wrote no diagnostics/<agent>.parquet.
    diagnostics: dict[str, dict[str, np.ndarray]]
    config_text: str  # resolved config.yaml verbatim ("" if absent)


def _require(path: Path, run_dir: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: {run_dir} is not a finished lifelong run "
            f"(expected {', '.join(_REQUIRED)} and R/<agent>.parquet)"
        )
    return path


def _read_json(run_dir: Path, name: str) -> dict:
    with open(_require(run_dir / name, run_dir)) as f:
        return json.load(f)


def _parse_layout(raw: dict) -> RunLayout:
    stream = StreamLayout(
        stream_to_eval=np.asarray(raw["stream_to_eval"], dtype=np.int64),
        task_end_eval=np.asarray(raw["task_end_eval"], dtype=np.int64),
        window_start_eval=np.asarray(raw["window_start_eval"], dtype=np.int64),
    )
    layout = RunLayout(
        stream=stream,
        eval_tasks=tuple(raw["eval_tasks"]),
        stream_tasks=tuple(raw["stream"]),
        eval_steps=np.asarray(raw["eval_steps"], dtype=np.int64),
        steps_per_task=int(raw["steps_per_task"]),
    )
    if len(layout.stream_tasks) != stream.num_positions:
        raise ValueError(
            f"layout.json: 'stream' has {len(layout.stream_tasks)} entries but "
            f"'stream_to_eval' has {stream.num_positions}"
        )
    if np.any(stream.task_end_eval >= layout.num_eval_points):
        raise ValueError("layout.json: 'task_end_eval' points past the last entry of 'eval_steps'")
    return layout


def _dense_results(path: Path, layout: RunLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild ``(seeds, scores, returns)`` from one agent's long-format parquet file."""
    table = pq.read_table(path, columns=_COLUMNS)
    seed = table["seed"].to_numpy()
    point = table["eval_point"].to_numpy()
    task = table["task_index"].to_numpy()
    seeds, seed_row = np.unique(seed, return_inverse=True)
    shape = (len(seeds), layout.num_eval_points, len(layout.eval_tasks))
    outside = (point < 0) | (point >= shape[1]) | (task < 0) | (task >= shape[2])
    if np.any(outside):
        raise ValueError(f"{path}: eval_point or task_index outside the layout in layout.json")
    names = np.asarray(table["task"].to_pylist(), dtype=object)
    if np.any(names != np.asarray(layout.eval_tasks, dtype=object)[task]):
        raise ValueError(f"{path}: 'task' names disagree with 'task_index' and layout.json")
    flat = np.ravel_multi_index((seed_row, point, task), shape)
    if len(flat) != np.prod(shape) or len(np.unique(flat)) != len(flat):
        raise ValueError(
            f"{path}: expected exactly one row per (seed, eval_point, task) = {shape}, "
            f"got {len(flat)} rows"
        )
    scores = np.empty(np.prod(shape))
    returns = np.empty(np.prod(shape))
    scores[flat] = table["score"].to_numpy()
    returns[flat] = table["return"].to_numpy()
    return seeds, scores.reshape(shape), returns.reshape(shape)


def _dense_diagnostics(path: Path, num_seeds: int, layout: RunLayout) -> dict[str, np.ndarray]:
    """Rebuild ``name -> [seeds, eval_points]`` from diagnostics/<agent>.parquet (if written)."""
    if not path.is_file():
        return {}
    table = pq.read_table(path)
    seed = table["seed"].to_numpy()  # seed position 0..seeds-1, not the seed id
    point = table["eval_point"].to_numpy()
    if np.any((seed < 0) | (seed >= num_seeds) | (point < 0) | (point >= layout.num_eval_points)):
        raise ValueError(f"{path}: seed or eval_point outside the run's seeds and layout")
    dense = {}
    for name in table.column_names:
        if name in ("seed", "eval_point", "env_step"):
            continue
        values = np.full((num_seeds, layout.num_eval_points), np.nan)
        values[seed, point] = table[name].to_numpy(zero_copy_only=False)
        dense[name] = values
    return dense


def load_run(run_dir: str | Path) -> RunData:
    """Load a finished run folder; raises FileNotFoundError naming any missing file."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a directory: no lifelong run there")
    layout = _parse_layout(_read_json(run_dir, "layout.json"))
    baselines = _read_json(run_dir, "baselines.json")
    metrics = _read_json(run_dir, "metrics.json")
    seeds, scores, returns, diagnostics = {}, {}, {}, {}
    for agent in metrics:
        path = _require(run_dir / "R" / f"{agent}.parquet", run_dir)
        seeds[agent], scores[agent], returns[agent] = _dense_results(path, layout)
        diagnostics[agent] = _dense_diagnostics(
            run_dir / "diagnostics" / f"{agent}.parquet", len(seeds[agent]), layout
        )
    config_path = run_dir / "config.yaml"
    return RunData(
        run_dir=run_dir,
        agents=tuple(metrics),
        layout=layout,
        baselines=baselines,
        metrics=metrics,
        seeds=seeds,
        scores=scores,
        returns=returns,
        diagnostics=diagnostics,
        config_text=config_path.read_text() if config_path.is_file() else "",
    )
