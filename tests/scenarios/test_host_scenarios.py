"""Host-stepped scenarios: Gymnasium, MuJoCo shifts and Continual World build the right
tasks, their wrappers pass Gymnasium's env checker, and bad input names the field."""

import sys
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from lifelong import config
from lifelong.cli import main
from lifelong.errors import ConfigError
from lifelong.scenarios import make_scenario


def _scenario(**fields):
    return make_scenario(config.resolve({"scenario": fields, "agents": {"a": {}}}).scenario)


def _check(env):
    """Gymnasium's checker, then close. No render check: there is no display. Its advice
    against wrapped envs and unbounded observations does not apply to these envs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(unwrapped version|infinity)")
        check_env(env, skip_render_check=True)
    env.close()


def test_lifelong_list_shows_the_host_scenarios(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in ["gymnasium", "mujoco-shift", "cw10", "cw20"]:
        assert name in printed


def test_gymnasium_default_is_pendulum_under_three_gravities():
    scenario = _scenario(name="gymnasium")
    assert [t.name for t in scenario.tasks] == ["Pendulum-v1", "Pendulum-v1[g=4.0]",
                                                "Pendulum-v1[g=16.0]"]
    assert [int(t.params.task_id) for t in scenario.tasks] == [0, 1, 2]
    assert len({t.fingerprint() for t in scenario.tasks}) == 3
    for task in scenario.tasks:
        assert task.env.host_stepped and (task.env.obs_dim, task.env.action_dim) == (3, 1)
    assert scenario.tasks[1].env.factory().unwrapped.g == 4.0


def test_gymnasium_pads_observations_to_the_largest_env():
    scenario = _scenario(name="gymnasium", envs=[{"id": "MountainCar-v0"},
                                                 {"id": "Acrobot-v1", "name": "acrobot"}])
    mountain_car, acrobot = scenario.tasks
    assert acrobot.name == "acrobot"
    assert mountain_car.env.obs_dim == acrobot.env.obs_dim == 6
    vector = mountain_car.env.vector(2)
    obs = vector.reset(0)
    assert obs.shape == (2, 6) and not obs[:, 2:].any()
    vector.close()


@pytest.mark.parametrize("envs, field, message", [
    ([{"id": "Pendulum-v9"}], "scenario.envs.0", "did you mean 'Pendulum-v1'"),
    ([{"id": "CartPole-v1"}, {"id": "Acrobot-v1"}], "scenario.envs.1.id",
     "another action space"),
    ([{"id": "Pendulum-v1"}, {"id": "Pendulum-v1"}], "scenario.envs.1.name", "is taken"),
    ([{"id": "Pendulum-v1", "kwarg": {}}], "scenario.envs.0.kwarg", "unknown key"),
])
def test_gymnasium_errors_name_the_field(envs, field, message):
    with pytest.raises(ConfigError, match=message) as error:
        _scenario(name="gymnasium", envs=envs)
    assert error.value.field == field


def test_mujoco_shift_default_stream_and_its_wrappers():
    pytest.importorskip("mujoco")
    scenario = _scenario(name="mujoco-shift")
    assert [t.name for t in scenario.tasks] == [
        "HalfCheetah-v5[mass_scale=1.5,mass_body=torso]", "HalfCheetah-v5[friction_scale=0.4]",
        "HalfCheetah-v5[target_velocity=1.5]", "HalfCheetah-v5[direction=-1]"]
    assert all((t.env.obs_dim, t.env.action_dim, t.env.discrete, t.env.max_episode_steps)
               == (17, 6, False, 1000) for t in scenario.tasks)
    for task in scenario.tasks:
        _check(task.env.factory())


def test_mujoco_physics_shifts_edit_the_model():
    pytest.importorskip("mujoco")
    import gymnasium as gym

    plain = gym.make("HalfCheetah-v5").unwrapped.model
    scenario = _scenario(name="mujoco-shift", shifts=[
        {"mass_scale": 2.0, "mass_body": "torso"}, {"mass_scale": 0.5},
        {"gravity_scale": 0.5}, {"friction_scale": 0.4}])
    envs = [task.env.factory() for task in scenario.tasks]
    torso, every_body, gravity, friction = (env.unwrapped.model for env in envs)
    expected = plain.body_mass.copy()
    expected[1] *= 2.0  # body 1 is the torso
    np.testing.assert_allclose(torso.body_mass, expected)
    np.testing.assert_allclose(torso.body_inertia[1], 2.0 * plain.body_inertia[1])
    np.testing.assert_allclose(every_body.body_mass, 0.5 * plain.body_mass)
    np.testing.assert_allclose(gravity.opt.gravity, [0, 0, -9.81 / 2])
    np.testing.assert_allclose(friction.geom_friction, 0.4 * plain.geom_friction)
    for env in envs[1:3]:  # the all-body mass and the gravity wrappers (torso: above)
        _check(env)


def test_mujoco_objective_shifts_replace_the_forward_reward():
    pytest.importorskip("mujoco")
    velocity, backward = (
        task.env.factory() for task in _scenario(
            name="mujoco-shift", shifts=[{"target_velocity": 2.0}, {"direction": -1}]).tasks)
    action = np.full(6, 0.5, np.float32)
    for env in (velocity, backward):
        env.reset(seed=0)
        _, reward, _, _, info = env.step(action)
        if env is velocity:
            expected = info["reward_ctrl"] - abs(info["x_velocity"] - 2.0)
        else:
            expected = info["reward_ctrl"] - info["reward_forward"]
        assert reward == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("fields, field, message", [
    ({"shifts": [{"mass_scale": 2.0, "mass_body": "head"}]}, "scenario.shifts.0.mass_body",
     "has no body 'head'; choose from"),
    ({"shifts": [{"target_velocity": 1.0, "direction": -1}]}, "scenario.shifts.0",
     "target_velocity or direction, not both"),
    ({"shifts": [{}, {}]}, "scenario.shifts.1", "use cycles"),
    ({"env": "Pendulum-v1"}, "scenario.env", "not a MuJoCo env"),
    ({"env": "HalfCheetah-v9"}, "scenario.env", "unknown Gymnasium env"),
])
def test_mujoco_shift_errors_name_the_field(fields, field, message):
    pytest.importorskip("mujoco")
    with pytest.raises(ConfigError, match=message) as error:
        _scenario(name="mujoco-shift", **fields)
    assert error.value.field == field


def test_mujoco_shift_without_the_extra_says_how_to_install_it(monkeypatch):
    """Gymnasium imports MuJoCo when it first builds a MuJoCo env; hide it and forget those
    imports, as in an install without the extra."""
    monkeypatch.setitem(sys.modules, "mujoco", None)
    for module in [m for m in sys.modules if m.startswith("gymnasium.envs.mujoco")]:
        monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ConfigError, match=r"lifelong\[mujoco\]") as error:
        _scenario(name="mujoco-shift")
    assert error.value.field == "scenario.env"


def test_cw10_and_cw20_streams():
    pytest.importorskip("metaworld")
    cw10, cw20 = _scenario(name="cw10"), _scenario(name="cw20")
    names = ["hammer-v3", "push-wall-v3", "faucet-close-v3", "push-back-v3", "stick-pull-v3",
             "handle-press-side-v3", "push-v3", "shelf-place-v3", "window-close-v3",
             "peg-unplug-side-v3"]
    assert [t.name for t in cw10.tasks] == [t.name for t in cw20.tasks] == names
    assert cw10.stream == tuple(range(10)) and cw20.stream == tuple(range(10)) * 2
    assert cw20.stream_tasks[3] is cw20.stream_tasks[13]  # the same task, trained again
    assert [int(t.params.task_id) for t in cw10.tasks] == list(range(10))
    for task in cw10.tasks:
        env = task.env
        assert (env.obs_dim, env.action_dim, env.discrete, env.max_episode_steps) == (
            39, 4, False, 200)
        assert env.success and env.action_low.tolist() == [-1.0] * 4
    assert _scenario(name="cw20", cycles=1).stream == tuple(range(10))


def test_meta_world_env_protocol():
    """200-step episodes, a success flag, and goals resampled at each reset from the seed:
    copies of a vector env draw different goals, and a reseeded reset repeats them."""
    pytest.importorskip("metaworld")
    env = _scenario(name="cw10", tasks=["reach-v3"]).tasks[0].env
    _check(env.factory())
    vector = env.vector(2)
    goals = vector.reset(0)[:, -3:]
    assert not np.allclose(goals[0], goals[1])
    np.testing.assert_array_equal(vector.reset(0)[:, -3:], goals)
    actions = np.random.default_rng(0).uniform(-1, 1, (env.max_episode_steps, 2, 4))
    for action in actions:
        step = vector.step(action)
        assert step.valid.all() and not step.terminated.any()
    assert step.truncated.all() and step.success.dtype == np.float32
    after = vector.step(actions[0])
    assert not after.valid.any() and not np.allclose(after.obs[:, -3:], goals)
    vector.close()


@pytest.mark.parametrize("fields, field, message", [
    ({"tasks": ["hammer-v1"]}, "scenario.tasks.0", "did you mean 'hammer-v3'"),
    ({"tasks": ["push-v3", "push-v3"]}, "scenario.tasks.1", "use cycles"),
])
def test_continual_world_errors_name_the_field(fields, field, message):
    pytest.importorskip("metaworld")
    with pytest.raises(ConfigError, match=message) as error:
        _scenario(name="cw10", **fields)
    assert error.value.field == field


def test_continual_world_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "metaworld", None)
    with pytest.raises(ConfigError, match=r"lifelong\[mujoco\]"):
        _scenario(name="cw20")
