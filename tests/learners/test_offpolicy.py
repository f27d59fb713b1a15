"""SAC and DQN learn within fixed budgets and keys, on gymnax envs (fully jitted) and on
Gymnasium envs (host-stepped), and follow Continual World's task protocol."""

import jax
import numpy as np
import pytest
from conftest import study_loops

from lifelong.learners import replay

SAC_SMALL = ["learner={name: sac, hidden: [64, 64], random_steps: 1000, learning_starts: 1000, "
             "buffer_size: 20000}", "agents={finetune: {}}", "seeds=2", "steps_per_task=10000",
             "eval_every=5000", "eval.episodes=8", "eval.greedy=true"]


def final_returns(overrides: list[str]) -> np.ndarray:
    """[seeds] mean return after training a one-task study's only agent."""
    loops, keys, eval_params, scenario, _ = study_loops(overrides)
    (loop,) = loops.values()
    run = loop.run(keys, scenario.stream_tasks, eval_params)
    assert run.returns[:, 0].mean() < run.returns[:, -1].mean()
    return run.returns[:, -1, 0]


@pytest.mark.slow
def test_sac_learns_pendulum_on_gymnax_and_gymnasium_alike():
    jitted = final_returns(["scenario={name: gymnax-params, env_id: Pendulum-v1, tasks: [{}]}",
                            *SAC_SMALL])
    hosted = final_returns(["scenario={name: gymnasium, envs: [{id: Pendulum-v1}]}",
                            *SAC_SMALL])
    # A random policy scores about -1250; swinging up and holding scores about -150.
    assert jitted.mean() > -450 and hosted.mean() > -450, (jitted, hosted)
    assert abs(jitted.mean() - hosted.mean()) < 300, (jitted, hosted)


def test_dqn_learns_cartpole():
    returns = final_returns(["scenario={name: gymnax-params, tasks: [{}]}",
                             "learner={name: dqn}", "agents={finetune: {}}", "seeds=2",
                             "steps_per_task=80000", "eval_every=40000"])
    assert returns.mean() > 150, returns  # random: about 22


@pytest.mark.slow
def test_dqn_learns_a_minatar_game():
    returns = final_returns(["scenario={name: minatar, games: [Breakout]}",
                             "learner={name: dqn, hidden: [128, 128]}", "agents={finetune: {}}",
                             "seeds=2", "steps_per_task=96000", "eval_every=48000"])
    assert returns.mean() > 3, returns  # random: about 0.5


def host_training(overrides: list[str]):
    loops, keys, eval_params, scenario, _ = study_loops(overrides)
    (loop,) = loops.values()
    agent = loop._init(keys)
    training = loop.training(scenario.tasks[0].env)
    return loop, agent, keys, scenario, training


def test_host_stepping_never_stores_the_autoreset_step():
    # CartPole episodes under a random policy last ~20 steps: many NEXT_STEP resets.
    loop, agent, keys, scenario, training = host_training([
        "scenario={name: gymnasium, envs: [{id: CartPole-v1}]}",
        "learner={name: dqn, num_envs: 3, train_every: 1, learning_starts: 100000}",
        "agents={finetune: {}}", "seeds=2", "steps_per_task=600", "eval_every=600",
        "eval.episodes=1"])
    task = scenario.tasks[0]
    carry = training.start(agent, task.params, keys)
    vector = carry[1].vector
    steps = []
    original = vector.step

    def recording(actions):
        step = original(actions)
        steps.append(step)
        return step

    vector.step = recording
    carry, _ = training.chunk(carry, task.params, ())
    valid = np.stack([s.valid for s in steps])  # [200, 6]
    assert (~valid).sum() > 10  # resets happened
    ends = np.stack([s.terminated | s.truncated for s in steps])
    np.testing.assert_array_equal(~valid[1:], ends[:-1])  # exactly the step after an end
    added = np.asarray(carry[0].aux.buffer.added)[:, 0]  # [seeds]
    per_seed = valid.reshape(len(steps), 2, 3).sum(axis=(0, 2))
    np.testing.assert_array_equal(added, per_seed)


def test_task_start_resets_buffer_and_optimizer_and_acts_randomly():
    loops, keys, eval_params, scenario, _ = study_loops([
        "scenario={name: gymnax-params, env_id: Pendulum-v1, tasks: [{}, {g: 5.0}]}",
        "learner={name: sac, hidden: [16], random_steps: 200, learning_starts: 50, "
        "buffer_size: 1000}", "agents={finetune: {}}", "seeds=1", "steps_per_task=400",
        "eval_every=200", "eval.episodes=1"])
    (loop,) = loops.values()
    learner = loop.learner
    agent = loop._init(keys)
    training = loop.training(scenario.tasks[0].env)
    params = scenario.tasks[0].params
    carry = training.start(agent, params, keys)
    carry, _ = training.chunk(carry, params, eval_params)
    trained = carry[0]
    held = jax.vmap(replay.filled)  # per seed
    assert held(trained.aux.buffer).tolist() == [[200]]
    assert int(jax.tree.leaves(trained.learner.opt_state)[0].sum()) > 0  # Adam's step count
    restarted = jax.vmap(learner.task_start)(trained)
    assert held(restarted.aux.buffer).tolist() == [[0]]
    fresh = jax.vmap(learner.optimizer().init)(restarted.learner.params)
    for a, b in zip(jax.tree.leaves(restarted.learner.opt_state), jax.tree.leaves(fresh)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # The first `random_steps` are uniform in [-1, 1]^d, the rest the policy's.
    single = jax.tree.map(lambda x: x[0], trained.learner.params)
    obs = np.zeros((2000, 3), np.float32)
    key = jax.random.PRNGKey(0)
    early = learner.training_action(single, obs, params.task_id, 199, key)
    late = learner.training_action(single, obs, params.task_id, 200, key)
    assert abs(float(early.std()) - 1 / np.sqrt(3)) < 0.03  # uniform's std
    assert abs(float(early.mean())) < 0.05
    policy = learner.explore(single, obs, params.task_id, 200, jax.random.split(key)[1])
    np.testing.assert_array_equal(np.asarray(late), np.asarray(policy))


def test_host_stepped_scenarios_refuse_ppo_and_multitask():
    from lifelong.errors import ConfigError

    with pytest.raises(ConfigError, match="sac .continuous. or dqn"):
        study_loops(["scenario={name: gymnasium, envs: [{id: Pendulum-v1}]}",
                     "agents={finetune: {}}"])
    with pytest.raises(ConfigError, match="multitask training on host-stepped"):
        study_loops(["scenario={name: gymnasium, envs: [{id: Pendulum-v1}]}",
                     "learner={name: sac}", "agents={mt: {multitask: true}}"])
