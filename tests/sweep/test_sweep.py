"""Sweeps: a local grid of 2 methods x 2 strengths x 2 seeds, re-running skips finished
trials, a failing trial is retried and reported while the rest finish, and the same trials
on a local Ray instance give the same results."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from lifelong.cli import main

BASE = {
    "scenario": {"name": "cartpole-permuted", "num_tasks": 2},
    "agents": {"reg": {"components": [{"name": "l2"}]}},
    "seeds": 2, "steps_per_task": 4096, "eval_every": 2048, "eval": {"episodes": 2},
}
METHOD = "agents.reg.components.0.name"
STRENGTH = "agents.reg.components.0.strength"


def _sweep(path: Path, parameters: dict, **options) -> Path:
    path.write_text(yaml.safe_dump({"study": BASE, "parameters": parameters,
                                    "methods": [METHOD], **options}))
    return path


def _metrics(trial_dir: Path) -> dict:
    metrics = json.loads((trial_dir / "metrics.json").read_text())
    for values in metrics.values():
        values.pop("wall_clock_s")
    return metrics


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """The 2 x 2 grid, run once with the local backend (2 workers)."""
    root = tmp_path_factory.mktemp("sweep")
    sweep = _sweep(root / "grid.yaml", {METHOD: ["l2", "ewc"], STRENGTH: [0.01, 1.0]},
                   workers=2)
    out = root / "out"
    code = main(["sweep", str(sweep), "--out", str(out), "--quiet"])
    return root, out, code


def test_local_grid_runs_every_trial(grid):
    _, out, code = grid
    assert code == 0
    status = json.loads((out / "trials.json").read_text())
    assert sorted((e["params"][METHOD], e["params"][STRENGTH]) for e in status.values()) == [
        ("ewc", 0.01), ("ewc", 1.0), ("l2", 0.01), ("l2", 1.0)]
    assert all(e["status"] == "done" and e["attempts"] == 1 for e in status.values())
    for trial_id in status:
        trial = out / "trials" / trial_id
        assert (trial / "report.html").is_file()
        seeds = json.loads((trial / "metrics.json").read_text())["reg"]
        assert len(seeds["average_performance"]["per_seed"]) == 2
    with open(out / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    # The best table keeps one row per method: the strength with the higher performance.
    best = (out / "sweep.md").read_text().split("## All trials")[0]
    for method in ("l2", "ewc"):
        mine = [r for r in rows if r[METHOD] == method]
        winner = max(mine, key=lambda r: float(r["average_performance_mean"]))
        assert f"| reg | {method} | {winner[STRENGTH]} |" in best
        loser = min(mine, key=lambda r: float(r["average_performance_mean"]))
        assert f"| reg | {method} | {loser[STRENGTH]} |" not in best


def test_failed_trial_is_retried_and_reported_rerun_skips_finished(grid, capsys):
    root, out, _ = grid
    status = json.loads((out / "trials.json").read_text())
    kept = next(k for k, e in status.items() if e["params"] == {METHOD: "l2", STRENGTH: 0.01})
    before = (out / "trials" / kept / "metrics.json").stat().st_mtime_ns
    # One trial repeats a finished one; lr 1e38 makes the other diverge.
    sweep = _sweep(root / "lr.yaml", {METHOD: ["l2"], STRENGTH: [0.01],
                                      "learner.lr": [2.5e-4, 1.0e38]}, retries=1)
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 1
    status = json.loads((out / "trials.json").read_text())
    failed = [e for e in status.values() if e["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 2
    assert "diverged" in failed[0]["error"]
    assert (out / "trials" / kept / "metrics.json").stat().st_mtime_ns == before  # skipped
    printed = capsys.readouterr().out
    assert "## Failed trials" in printed and "1 of 2 finished" in printed


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # Ray starts its daemons
def test_ray_backend_gives_the_local_results(grid, tmp_path):
    pytest.importorskip("ray")
    root, out, _ = grid
    sweep = _sweep(tmp_path / "ray.yaml", {METHOD: ["ewc"], STRENGTH: [0.01, 1.0]},
                   backend="ray")
    ray_out = tmp_path / "ray-out"
    assert main(["sweep", str(sweep), "--out", str(ray_out), "--quiet"]) == 0
    status = json.loads((ray_out / "trials.json").read_text())
    assert len(status) == 2
    for trial_id, entry in status.items():
        assert entry["status"] == "done"
        assert _metrics(ray_out / "trials" / trial_id) == _metrics(out / "trials" / trial_id)


def test_bad_sweep_file_is_one_line_exit_2(tmp_path, capsys):
    bad = _sweep(tmp_path / "bad.yaml", {METHOD: ["l2", "nope"]})
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown component 'nope'" in err and len(err.strip().splitlines()) == 1
    grid_range = _sweep(tmp_path / "range.yaml", {METHOD: ["l2"],
                                                  "learner.lr": {"low": 1e-4, "high": 1e-3}})
    assert main(["sweep", str(grid_range)]) == 2
    assert "use search: random" in capsys.readouterr().err
