"""NaN/Inf in the parameters stops a run with one line naming the agent, task and step,
and keeps the checkpoint of the last task that finished."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp

from lifelong.cli import main
from lifelong.runner import study as study_module

TINY = ["scenario.num_tasks=2", "seeds=2", "steps_per_task=2048", "eval_every=1024",
        "eval.episodes=2", "agents={finetune: {}}"]


def test_nan_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    make_scenario = study_module.make_scenario

    def poisoned(options):
        """The stream's second task gets NaN gravity (evaluation and references do not)."""
        scenario = make_scenario(options)
        task = scenario.tasks[1]
        env = task.params.env_params.replace(gravity=jnp.float32(jnp.nan))
        bad = dataclasses.replace(task, name="poisoned", params=task.params.replace(
            env_params=env))
        return dataclasses.replace(scenario, tasks=(*scenario.tasks, bad), stream=(0, 2))

    monkeypatch.setattr(study_module, "make_scenario", poisoned)
    out = tmp_path / "run"
    assert main(["run", "--out", str(out), "--quiet", *(f"--set={o}" for o in TINY)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "agent 'finetune' diverged" in err
    assert "stream position 2 (task 'poisoned'), seed 0" in err
    assert "by env step 1,024 of the task" in err
    assert "checkpoint after position 1 is kept" in err  # the task end, not inside
    header = json.loads((out / "checkpoints" / "finetune.ckpt").read_bytes().split(b"\n")[0])
    assert header["position"] == 1
    assert not (out / "R" / "finetune.parquet").exists()
