"""The host-side Gymnasium adapter: NEXT_STEP autoreset hidden behind `valid`, padding,
action handling, the subprocess path, and errors that name the field."""

import gymnasium as gym
import numpy as np
import pytest

from lifelong.envs import host_params, make_host_env
from lifelong.errors import ConfigError

EPISODE = 15  # a short CartPole time limit, so episodes end by truncation too


def _cartpole(obs_dim=6):
    return make_host_env("CartPole-v1", obs_dim=obs_dim, max_episode_steps=EPISODE)


def test_description_of_a_registered_env():
    env = make_host_env("Pendulum-v1", {"g": 4.0})
    assert env.name == "Pendulum-v1{'g': 4.0}" and env.max_episode_steps == 200
    assert (env.obs_dim, env.action_dim, env.discrete, env.success) == (3, 1, False, False)
    assert env.action_low.tolist() == [-2.0] and env.action_high.tolist() == [2.0]
    assert env.factory().unwrapped.g == 4.0
    cartpole = _cartpole()
    assert (cartpole.obs_dim, cartpole.action_dim, cartpole.discrete) == (6, 2, True)
    assert cartpole.max_episode_steps == EPISODE
    assert cartpole.name == f"CartPole-v1{{'max_episode_steps': {EPISODE}}}"


def test_reset_step_is_invalid_exactly_once_and_transitions_chain():
    """Sub-env i must follow a plain env seeded seed + i that is stepped with the same
    actions on valid steps and reset after each episode: then every valid transition
    continues the previous one, and the reset step is the only step flagged invalid."""
    num_envs, seed, rng = 2, 5, np.random.default_rng(0)
    vector = _cartpole().vector(num_envs)
    references = [gym.make("CartPole-v1", max_episode_steps=EPISODE) for _ in range(num_envs)]
    obs = vector.reset(seed)
    expected = [ref.reset(seed=seed + i)[0] for i, ref in enumerate(references)]
    ended = np.zeros(num_envs, bool)
    ends = {"terminated": 0, "truncated": 0}
    for _ in range(150):
        np.testing.assert_allclose(obs[:, :4], expected, rtol=1e-6)
        assert not obs[:, 4:].any()  # padding
        actions = rng.integers(0, 2, num_envs)
        step = vector.step(actions)
        assert step.obs.dtype == np.float32 and step.obs.shape == (num_envs, 6)
        np.testing.assert_array_equal(step.valid, ~ended)
        for i, ref in enumerate(references):
            if ended[i]:  # the reset step: no transition, zero reward, not done
                expected[i] = ref.reset()[0]
                assert step.reward[i] == 0 and not step.terminated[i] and not step.truncated[i]
            else:
                expected[i], reward, terminated, truncated, _ = ref.step(int(actions[i]))
                assert (step.reward[i], step.terminated[i], step.truncated[i]) == (
                    reward, terminated, truncated)
                ends["terminated"] += terminated
                ends["truncated"] += truncated
        ended = step.terminated | step.truncated
        obs = step.obs
    assert min(ends.values()) >= 2  # episodes ended by falling and by the time limit
    assert not step.success.any()
    vector.close()


def test_continuous_actions_are_clipped_to_the_env_bounds():
    env = make_host_env("Pendulum-v1")
    vector = env.vector(2)
    vector.reset(0)
    clipped = vector.step(np.array([[50.0], [-50.0]]))
    vector.reset(0)
    bounded = vector.step(np.array([[2.0], [-2.0]]))
    np.testing.assert_array_equal(clipped.obs, bounded.obs)
    vector.close()


@pytest.mark.timeout(120)
def test_subprocess_vector_matches_the_in_process_one():
    env = _cartpole()
    actions = np.random.default_rng(1).integers(0, 2, (12, 2))
    runs = []
    for asynchronous in (False, True):
        vector = env.vector(2, asynchronous=asynchronous)
        runs.append((vector.reset(3), [vector.step(a) for a in actions]))
        vector.close()
    (sync_obs, sync_steps), (async_obs, async_steps) = runs
    np.testing.assert_array_equal(sync_obs, async_obs)
    for sync_step, async_step in zip(sync_steps, async_steps):
        for sync_field, async_field in zip(sync_step, async_step):
            np.testing.assert_array_equal(sync_field, async_field)


def test_host_params_are_identity_with_the_task_id():
    params = host_params(_cartpole(), task_id=3)
    assert params.obs_index.tolist() == list(range(6)) and params.obs_sign.tolist() == [1.0] * 6
    assert params.action_map.tolist() == [0, 1] and int(params.task_id) == 3
    continuous = host_params(make_host_env("Pendulum-v1"), task_id=0)
    assert continuous.action_map.tolist() == [1.0]


@pytest.mark.parametrize("env_id, kwargs, message", [
    ("CartPole-v0x", {}, "unknown Gymnasium env 'CartPole-v0x'; did you mean 'CartPole-v0'"),
    ("FrozenLake-v1", {}, "Discrete observation space; only Box observations"),
    ("Pendulum-v1", {"gravity": 3.0}, "rejected its arguments"),
])
def test_errors_name_the_field(env_id, kwargs, message):
    with pytest.raises(ConfigError, match=message) as error:
        make_host_env(env_id, kwargs, field="scenario.envs.0")
    assert error.value.field == "scenario.envs.0"


def test_too_small_obs_dim_is_refused():
    with pytest.raises(ConfigError, match="observes 4 values, more than obs_dim 2"):
        make_host_env("CartPole-v1", obs_dim=2)
