"""Logging backends read back with the field's own tools: TensorBoard's event reader,
l2logger's validator, W&B's offline run files."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from lifelong.cli import main

TINY = ["scenario.num_tasks=2", "seeds=2", "steps_per_task=4096", "eval_every=2048",
        "eval.episodes=2", "agents={finetune: {}, ewc: {components: [ewc]}}",
        "loggers=[tensorboard, l2logger, wandb]"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("wandb")
    out = tmp_path_factory.mktemp("loggers") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        patch.setenv("LIFELONG_CACHE_DIR", str(out.parent / "cache"))
        assert main(["run", "--out", str(out), "--quiet", *(f"--set={o}" for o in TINY)]) == 0
    return out


def _returns(run_dir, agent):
    """{task: [eval points] seed-mean return} from the run folder's Parquet."""
    table = pq.read_table(run_dir / "R" / f"{agent}.parquet").to_pandas()
    means = table.groupby(["task", "eval_point"])["return"].mean()
    return {task: means[task].to_numpy() for task in table["task"].unique()}


def test_tensorboard_event_files_read_back(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    layout = json.loads((run_dir / "layout.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for agent in ("finetune", "ewc"):
        events = EventAccumulator(str(run_dir / "tensorboard" / agent))
        events.Reload()
        for task, expected in _returns(run_dir, agent).items():
            scalars = events.Scalars(f"return/{task}")
            assert [s.step for s in scalars] == layout["eval_steps"]
            np.testing.assert_allclose([s.value for s in scalars], expected, rtol=1e-6)
        final = events.Scalars("metrics/average_performance")[-1].value
        assert final == pytest.approx(metrics[agent]["average_performance"]["mean"], rel=1e-6)
        assert "diagnostics/dormant_fraction" in events.Tags()["scalars"]


def test_l2logger_validator_accepts_every_lifetime(run_dir):
    pytest.importorskip("l2logger")
    from l2logger import util

    lifetimes = sorted((run_dir / "l2logger").iterdir())
    assert [p.name for p in lifetimes] == ["ewc-seed0", "ewc-seed1", "finetune-seed0",
                                           "finetune-seed1"]
    for lifetime in lifetimes:
        proc = subprocess.run([sys.executable, "-m", "l2logger.validate", str(lifetime)],
                              capture_output=True, text=True, timeout=120)
        assert "Log format validation passed!" in proc.stdout, proc.stdout + proc.stderr
        assert "Error" not in proc.stderr, proc.stderr
    data = util.read_log_data(run_dir / "l2logger" / "finetune-seed1")
    test = data[data.block_type == "test"]
    train = data[data.block_type == "train"]
    assert len(train) == 4 and len(test) == 2 * 5  # 4 trained eval points, 5 eval points
    assert sorted(train.task_name.unique()) == ["cartpole_0", "cartpole_1"]
    returns = pq.read_table(run_dir / "R" / "finetune.parquet").to_pandas()
    seed1 = returns[returns.seed == 1].sort_values(["eval_point", "task_index"])
    np.testing.assert_allclose(test.sort_values("exp_num").reward.to_numpy(),
                               seed1["return"].to_numpy(), rtol=1e-6)


def _logged_value(data: bytes, key: str) -> float:
    """The last value W&B recorded for `key` in an offline `.wandb` log. Records are
    protobuf: an item's key string, then field 16 (`value_json`) as a length-prefixed
    string; wandb 0.31 no longer ships a Python reader for these files."""
    *_, match = re.finditer(re.escape(key.encode()) + rb"\x82\x01(.)", data, re.S)
    return json.loads(data[match.end():match.end() + match.group(1)[0]])


def test_wandb_offline_run_records_the_metrics(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    logs = [path.read_bytes() for path in sorted((run_dir / "wandb").glob(
        "offline-run-*/run-*.wandb"))]
    assert len(logs) == 2  # one W&B run per agent
    logged = sorted(_logged_value(log, "metrics/average_performance") for log in logs)
    assert logged == pytest.approx(sorted(m["average_performance"]["mean"]
                                          for m in metrics.values()))
    expected = _returns(run_dir, "finetune")["cartpole-1"][-1]
    finetune = next(log for log in logs if f"{run_dir.name}/finetune".encode() in log)
    assert _logged_value(finetune, "return/cartpole-1") == pytest.approx(expected, rel=1e-6)
