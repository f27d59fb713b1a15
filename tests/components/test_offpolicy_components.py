"""Continual World's method list runs on SAC (and a regularizer on DQN) through the same
component seams as on PPO: every agent trains a 2-task stream, and each method leaves its
mark (a consolidated state, frozen weights, a memory, a kept buffer)."""

import jax
import numpy as np
from conftest import train_runs

from lifelong.learners import replay

STREAM = ["scenario={name: gymnax-params, env_id: Pendulum-v1, tasks: [{}, {g: 5.0}]}",
          "seeds=1", "steps_per_task=600", "eval_every=300", "eval.episodes=2"]
SAC = ("learner={name: sac, hidden: [16, 16], buffer_size: 2000, batch_size: 32, "
       "random_steps: 100, learning_starts: 100}")
# l2 and mas act through the same seams as ewc (a penalty, a task-end consolidation).
AGENTS = ("agents={ewc: {components: [multihead, ewc]}, "
          "packnet: {components: [multihead, packnet]}, "
          "agem: {components: [multihead, {name: agem, per_task: 64}]}, "
          "perfect_memory: {learner: {name: sac, hidden: [16, 16], buffer_size: 2000, "
          "batch_size: 32, random_steps: 100, learning_starts: 100, reset_buffer: false}, "
          "components: [multihead]}}")


def test_continual_world_methods_run_on_sac():
    runs, _, _ = train_runs([*STREAM, SAC, AGENTS])
    for name, run in runs.items():
        assert np.all(np.isfinite(run.returns)), name
        assert run.returns.shape == (1, 5, 2), name
    seed0 = lambda tree: jax.tree.map(lambda x: x[0], tree)  # noqa: E731
    fisher = seed0(runs["ewc"].agent.components["ewc"])["fisher"]  # consolidated at task ends
    assert sum(float(np.abs(x).sum()) for x in jax.tree.leaves(fisher)) > 0
    packnet = seed0(runs["packnet"].agent.components["packnet"])
    owners = np.concatenate([np.ravel(x) for x in jax.tree.leaves(packnet["table"]["owner"])])
    assert {0.0, 1.0} <= set(np.unique(owners))  # both tasks own weights
    memory = seed0(runs["agem"].agent.components["agem"])["memory"]
    assert int(memory.seen) == 128  # 64 states of each task
    kept = seed0(runs["perfect_memory"].agent.aux.buffer)
    assert int(replay.filled(kept).sum()) == 1200  # both tasks' transitions, never reset


def test_a_regularizer_runs_on_dqn():
    runs, _, _ = train_runs([
        "scenario={name: cartpole-permuted, num_tasks: 2}", "seeds=1", "steps_per_task=2048",
        "eval_every=1024", "eval.episodes=2",
        "learner={name: dqn, learning_starts: 256, buffer_size: 4096}",
        "agents={ewc: {components: [ewc]}}"])
    assert np.all(np.isfinite(runs["ewc"].returns))
