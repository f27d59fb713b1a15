"""A study killed with SIGKILL in the middle of a task resumes from its checkpoints and ends
bit-identical to an uninterrupted run; bad checkpoints and run folders give clear errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from lifelong.cli import main

STUDY = """\
scenario: {name: cartpole-permuted, num_tasks: 3}
agents:
  finetune: {}
  ewc: {components: [ewc]}
seeds: 2
steps_per_task: 32768
eval_every: 8192
checkpoint_minutes: 1.0e-6  # a checkpoint after every eval period, inside tasks too
loggers: [l2logger]
"""


def _lifelong(cache: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lifelong.cli", *args, "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LIFELONG_CACHE_DIR": str(cache)})


def _header(path: Path) -> dict:
    return json.loads(path.read_bytes().partition(b"\n")[0])


def _l2_logs(run_dir: Path) -> dict[str, list[str]]:
    """{block file: its rows without the timestamp column}."""
    logs = {}
    for path in sorted((run_dir / "l2logger").rglob("data-log.tsv")):
        rows = [line.split("\t") for line in path.read_text().splitlines()]
        stamp = rows[0].index("timestamp")
        logs[str(path.relative_to(run_dir))] = ["\t".join(r[:stamp] + r[stamp + 1:])
                                                for r in rows]
    return logs


def _results(run_dir: Path) -> tuple[dict, dict]:
    """({agent: R and diagnostics tables}, metrics without wall-clock times)."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for values in metrics.values():
        values.pop("wall_clock_s")
    tables = {name: (pq.read_table(run_dir / "R" / f"{name}.parquet").to_pydict(),
                     pq.read_table(run_dir / "diagnostics" / f"{name}.parquet").to_pydict())
              for name in metrics}
    return tables, metrics


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted run, and a run killed inside a task of its second agent, right after
    a checkpoint from inside that task."""
    root = tmp_path_factory.mktemp("resume")
    config = root / "study.yaml"
    config.write_text(STUDY)
    full = _lifelong(root / "cache", "run", str(config), "--out", str(root / "full"))
    assert full.wait(timeout=600) == 0, full.stderr.read()

    killed = root / "killed"
    proc = _lifelong(root / "cache", "run", str(config), "--out", str(killed))
    ckpt = killed / "checkpoints" / "ewc.ckpt"
    while proc.poll() is None:  # until EWC has a checkpoint from inside a task
        if ckpt.exists() and _header(ckpt)["evals_done"] > 0:
            proc.send_signal(signal.SIGSTOP)  # holds the file still while we look again
            if _header(ckpt)["evals_done"] > 0:
                break
            proc.send_signal(signal.SIGCONT)
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return root, root / "full", killed


def test_killed_study_resumes_bit_identical(runs, tmp_path, monkeypatch):
    root, _, killed = runs
    monkeypatch.setenv("LIFELONG_CACHE_DIR", str(root / "cache"))  # the runs' references
    # The kill landed mid-study: fine-tuning finished, EWC stopped inside a task.
    assert list(json.loads((killed / "metrics.json").read_text())) == ["finetune"]
    header = _header(killed / "checkpoints" / "ewc.ckpt")
    assert header["position"] < 3 and 0 < header["evals_done"] < 4
    resumed = tmp_path / "resumed"
    shutil.copytree(killed, resumed)
    assert main(["run", "--resume", str(resumed), "--quiet"]) == 0
    expected_tables, expected_metrics = _results(root / "full")
    tables, metrics = _results(resumed)
    assert metrics == expected_metrics
    assert tables == expected_tables
    assert _l2_logs(resumed) == _l2_logs(root / "full")  # logs continue, no duplicates
    assert _header(resumed / "checkpoints" / "ewc.ckpt")["position"] == 3
    assert _header(resumed / "checkpoints" / "ewc.ckpt")["evals_done"] == 0


def test_corrupt_checkpoint_is_refused(runs, tmp_path, capsys):
    run_dir = tmp_path / "corrupt"
    shutil.copytree(runs[2], run_dir)
    ckpt = run_dir / "checkpoints" / "ewc.ckpt"
    data = bytearray(ckpt.read_bytes())
    data[-10] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and "ewc.ckpt" in err and len(err.strip().splitlines()) == 1
    assert not (run_dir / "R" / "ewc.parquet").exists()  # nothing restarted silently


def test_changed_config_is_refused(runs, tmp_path, capsys):
    run_dir = tmp_path / "changed"
    shutil.copytree(runs[2], run_dir)
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("seed: 0", "seed: 1"))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    assert "different config.yaml" in capsys.readouterr().err


def test_resume_takes_no_other_config(runs, capsys):
    assert main(["run", "study.yaml", "--resume", str(runs[2])]) == 2
    assert "drop CONFIG" in capsys.readouterr().err


def test_non_empty_run_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["run", "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["run", "--out", str(out), "--overwrite", "--quiet"]) == 2
    assert "not a lifelong run folder" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_overwrite_replaces_a_run_folder(runs, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(runs[1], out)
    (out / "R" / "stale.parquet").write_text("old")
    assert main(["run", "--out", str(out), "--overwrite", "--quiet", "--set", "seeds=1",
                 "--set", "steps_per_task=2048", "--set", "eval_every=1024",
                 "--set", "scenario.num_tasks=2", "--set", "agents={finetune: {}}"]) == 0
    assert not (out / "R" / "stale.parquet").exists()
    assert np.array(pq.read_table(out / "R" / "finetune.parquet")["seed"]).max() == 0
