"""A run resumed from a snapshot taken inside a task, through a checkpoint file, ends exactly
as the uninterrupted run: the task's carry (env states, keys, last rollout) round-trips."""

import jax
import numpy as np
import pytest
from conftest import study_loops

from lifelong.runner import checkpoint

OVERRIDES = ["scenario.num_tasks=2", "seeds=2", "steps_per_task=2048", "eval_every=512",
             "eval.episodes=2", "eval.max_steps=50",
             "agents={finetune: {}, ewc: {components: [ewc]}, all: {multitask: true}}"]
EVALS = 4  # eval periods per task


@pytest.mark.parametrize("agent", ["finetune", "ewc", "all"])
def test_resume_inside_a_task_is_bit_identical(agent, tmp_path):
    loops, keys, eval_params, scenario, _ = study_loops(OVERRIDES)
    loop, stream = loops[agent], scenario.stream_tasks
    snapshots = []
    full = loop.run(keys, stream, eval_params, on_snapshot=snapshots.append, snapshot_every_s=0)
    # A snapshot after every eval period: inside each task, and at each task end.
    done = [(s.position, s.evals_done) for s in snapshots]
    if agent == "all":  # the multitask reference trains all tasks as one
        assert done == [(0, k) for k in range(1, 2 * EVALS)] + [(2, 0)]
    else:
        assert done == [(p, k) for p in range(2) for k in range(EVALS) if (p, k) != (0, 0)] + [
            (2, 0)]
    inside = [s for s in snapshots if s.evals_done > 0]
    pick = inside[-2]  # inside the last task, with later eval periods still to run
    assert pick.carry is not None and pick.returns.shape[1] == 1 + pick.position * EVALS + (
        pick.evals_done)

    path = tmp_path / f"{agent}.ckpt"
    checkpoint.save(path, agent, pick, "config-digest", 0.0)
    template = jax.eval_shape(jax.vmap(loop.learner.init), keys)
    restored, _ = checkpoint.load(path, template, "config-digest")
    resumed = loop.run(keys, stream, eval_params, resume=restored)

    np.testing.assert_array_equal(resumed.returns, full.returns)
    assert resumed.diagnostics.keys() == full.diagnostics.keys()
    for name, values in full.diagnostics.items():
        np.testing.assert_array_equal(resumed.diagnostics[name], values)
    for a, b in zip(jax.tree.leaves(resumed.agent), jax.tree.leaves(full.agent), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
