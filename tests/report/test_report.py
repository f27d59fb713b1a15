"""write_report on a small synthetic run folder written in the runner's on-disk format."""

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lifelong.evaluation.metrics import METRIC_NAMES, StreamLayout, summarize
from lifelong.report import format_table, load_run, write_report

EVAL_TASKS = ["reach", "push", "pick"]
STREAM = ["reach", "push", "distractor", "reach"]  # a revisit and a task outside the eval set
AGENTS = ["finetune", "ewc"]
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


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    _write_run(tmp_path / "run")
    return tmp_path / "run"


def test_load_run_rebuilds_dense_arrays(run_dir: Path):
    run = load_run(run_dir)
    assert run.agents == tuple(AGENTS)
    assert run.layout.eval_tasks == tuple(EVAL_TASKS)
    assert run.layout.stream.stream_to_eval.tolist() == [0, 1, -1, 0]
    for agent in AGENTS:
        scores = run.scores[agent]
        assert scores.shape == (len(SEEDS), 1 + len(STREAM) * POINTS_PER_TASK, len(EVAL_TASKS))
        np.testing.assert_allclose(run.returns[agent], -10.0 + 100.0 * scores)
        # The rebuilt tensor reproduces the runner's metrics.
        layout, ref = run.layout.stream, np.full(len(EVAL_TASKS), 0.4)
        expected = run.metrics[agent]["forgetting"]["per_seed"]
        assert summarize(scores, layout, ref)["forgetting"]["per_seed"] == pytest.approx(expected)
    assert "study: synthetic" in run.config_text


def test_write_report_produces_every_artifact(run_dir: Path):
    html_path = write_report(run_dir)
    assert html_path == run_dir / "report.html"

    markdown = (run_dir / "table.md").read_text()
    assert markdown == format_table(load_run(run_dir))
    lines = markdown.strip().splitlines()
    assert len(lines) == 2 + len(AGENTS)
    assert "forward transfer [90% CI]" in lines[0]
    for agent, line in zip(AGENTS, lines[2:], strict=True):
        assert line.startswith(f"| {agent} |")
        mean = json.loads((run_dir / "metrics.json").read_text())[agent]["average_performance"]
        assert f"{mean['mean']:.2f} [{mean['ci_low']:.2f}, {mean['ci_high']:.2f}]" in line

    with open(run_dir / "table.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["agent"] for r in rows] == AGENTS
    for row in rows:
        for name in METRIC_NAMES:
            low, mean, high = (float(row[f"{name}_{s}"]) for s in ("ci_low", "mean", "ci_high"))
            assert np.isfinite(mean) and low <= mean + 1e-12 and mean <= high + 1e-12

    for name in ("scores_over_time.png", "final_matrix.png"):
        data = (run_dir / "plots" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 20_000

    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == 2
    assert html.count('<table class="comparison">') == 1
    for agent in AGENTS:
        assert f"<td>{agent}</td>" in html
    for label in ("performance", "max forgetting", "backward transfer", "incremental performance"):
        assert f"<th>{label}</th>" in html
    assert "distractor" in html and "not evaluated" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html


def test_missing_file_is_named(run_dir: Path):
    (run_dir / "R" / "ewc.parquet").unlink()
    with pytest.raises(FileNotFoundError, match=r"ewc\.parquet.*not a finished lifelong run"):
        load_run(run_dir)
    (run_dir / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"metrics\.json.*not a finished lifelong run"):
        load_run(run_dir)


def test_incomplete_results_are_rejected(run_dir: Path):
    path = run_dir / "R" / "ewc.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows - 1), path)
    with pytest.raises(ValueError, match="one row per"):
        load_run(run_dir)
