"""Built-in scenarios: shapes, task differences, cycles, visibility."""

import jax
import numpy as np
import pytest

from lifelong import config
from lifelong.errors import ConfigError
from lifelong.scenarios import make_scenario


def _scenario(**fields):
    return make_scenario(config.resolve({"scenario": fields, "agents": {"a": {}}}).scenario)


def _rollout(task, steps=30):
    env = task.env
    obs, state = env.reset(jax.random.PRNGKey(0), task.params)
    total = 0.0
    for i in range(steps):
        action = jax.numpy.int32(i % env.action_dim)
        obs, state, reward, _ = env.step(jax.random.PRNGKey(i), state, action, task.params)
        assert obs.shape == (env.obs_dim,)
        total += float(reward)
    return total


def test_cartpole_permuted_tasks_differ_and_swap_actions():
    scenario = _scenario(name="cartpole-permuted", num_tasks=3)
    first, second, third = scenario.tasks
    assert np.array_equal(first.params.obs_index, np.arange(4))
    assert not np.array_equal(first.params.obs_index, second.params.obs_index)
    assert list(second.params.action_map) == [1, 0] and list(third.params.action_map) == [0, 1]
    obs0, _ = first.env.reset(jax.random.PRNGKey(1), first.params)
    obs1, _ = second.env.reset(jax.random.PRNGKey(1), second.params)
    raw = np.asarray(obs0)  # task 0 is the identity
    assert np.allclose(np.asarray(obs1), raw[np.asarray(second.params.obs_index)]
                       * np.asarray(second.params.obs_sign))


def test_minatar_games_share_one_spec():
    scenario = _scenario(name="minatar", games=["Breakout", "Freeway"])
    breakout, freeway = scenario.tasks
    assert breakout.env.obs_dim == freeway.env.obs_dim == 700
    assert breakout.env.action_dim == freeway.env.action_dim == 6
    # Breakout has no "up" (full action 2): it maps to the no-op; "right" (3) is its action 2.
    assert int(breakout.params.action_map[2]) == 0 and int(breakout.params.action_map[3]) == 2
    for task in scenario.tasks:
        _rollout(task)


def test_gymnax_params_recomputes_linked_cartpole_params():
    scenario = _scenario(name="gymnax-params", tasks=[{"masspole": 0.5, "length": 1.0}])
    params = scenario.tasks[0].params.env_params
    assert float(params.total_mass) == pytest.approx(1.5)
    assert float(params.polemass_length) == pytest.approx(0.5)


def test_cycles_repeat_the_stream_and_hidden_ids_are_zero():
    scenario = _scenario(name="cartpole-permuted", num_tasks=2, cycles=3, task_id_visible=False)
    assert scenario.stream == (0, 1, 0, 1, 0, 1)
    assert list(scenario.stream_to_eval) == [0, 1, 0, 1, 0, 1]
    assert [int(t.params.task_id) for t in scenario.tasks] == [0, 0]


def test_eval_subset_and_unknown_eval_task():
    scenario = _scenario(name="cartpole-permuted", num_tasks=3, eval_tasks=["cartpole-2"])
    assert list(scenario.stream_to_eval) == [-1, -1, 0]
    with pytest.raises(ConfigError, match="scenario.eval_tasks"):
        _scenario(name="cartpole-permuted", num_tasks=2, eval_tasks=["nope"])


def test_fingerprint_follows_task_content():
    a = _scenario(name="cartpole-permuted", num_tasks=2)
    b = _scenario(name="cartpole-permuted", num_tasks=2, seed=1)
    assert a.tasks[0].fingerprint() == b.tasks[0].fingerprint()  # both identity
    assert a.tasks[1].fingerprint() != b.tasks[1].fingerprint()
