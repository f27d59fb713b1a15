"""write_report on a small synthetic run folder written in the runner's on-disk format."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from synthetic_run import (
    AGENTS,
    DIAGNOSTIC,
    EVAL_TASKS,
    POINTS_PER_TASK,
    SEEDS,
    STREAM,
    diagnostic_value,
    run_dir_fixture,  # noqa: F401 (the run_dir fixture)
)

from lifelong.evaluation.metrics import METRIC_NAMES, summarize
from lifelong.report import format_table, load_run, write_report


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
    # Diagnostics: the first agent logged them from eval point 1 on, the second none.
    dormant = run.diagnostics[AGENTS[0]][DIAGNOSTIC]
    assert np.isnan(dormant[:, 0]).all()
    seed, point = np.meshgrid(np.arange(len(SEEDS)), np.arange(dormant.shape[1]), indexing="ij")
    np.testing.assert_allclose(dormant[:, 1:], diagnostic_value(seed, point)[:, 1:])
    assert run.diagnostics[AGENTS[1]] == {}


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
    # plotly.js inline once, one figure div per section, nothing loaded from elsewhere
    assert html.count("<script") == 1 + 4
    assert re.findall(r"<script[^>]*\bsrc=", html) == []
    assert re.findall(r"<link[^>]*\bhref=", html) == []
    for index, section in enumerate(
        (
            "Scores during training",
            "Score matrix",
            "Forgetting and transfer",
            "Plasticity diagnostics",
        )
    ):
        pattern = f'<h2>{section}</h2><div class="figure"><div[^>]*>\\s*<div id="figure-{index}"'
        assert re.search(pattern, html), section
    assert html.count('<table class="comparison">') == 1
    for agent in AGENTS:
        assert f"<td>{agent}</td>" in html
    for label in ("performance", "max forgetting", "backward transfer", "incremental performance"):
        assert f"<th>{label}</th>" in html
    assert "distractor" in html and "not evaluated" in html


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
