"""Gymnasium environments stepped on the host, for learners whose update stays on device.

MuJoCo and Meta-World have no JAX implementation that is fast on a CPU (MJX is slower than
plain MuJoCo here), so off-policy learners step ordinary Gymnasium envs in Python and send
transitions to a jitted update. `HostEnv` is the static description of one such task (the
counterpart of `TaskEnv`); `HostVector` steps several copies of it and hands back batches in
the scenario-wide observation layout.

Gymnasium 1.x vector envs reset a finished sub-env on the *next* call to `step`
(`AutoresetMode.NEXT_STEP`): that call ignores the action and returns the reset observation
with zero reward. That step is not a transition, and `HostStep.valid` marks it so a replay
buffer or an episode count never sees it.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import jax.numpy as jnp
import numpy as np

from lifelong.envs.task_env import TaskParams
from lifelong.errors import ConfigError

MUJOCO_FIX = "install the MuJoCo extra: pip install -e '.[mujoco]' (lifelong[mujoco])"


class HostStep(NamedTuple):
    """One step of every sub-env, as numpy arrays with a leading [num_envs] axis."""

    obs: np.ndarray  # [n, obs_dim] float32, zero-padded; at a done step the final obs
    reward: np.ndarray  # [n] float32
    terminated: np.ndarray  # [n] bool
    truncated: np.ndarray  # [n] bool
    valid: np.ndarray  # [n] bool; False for the reset step that follows an episode's end
    success: np.ndarray  # [n] float32, info["success"] (0 when the env reports none)


@dataclass(frozen=True, eq=False)
class HostEnv:
    """Static description of one host-stepped task env.

    Instances compare by identity, like `TaskEnv`. `name` identifies the env and its
    arguments (it enters `Task.fingerprint`, which keys the reference cache), so two
    different configurations must never share one.
    """

    name: str
    factory: Callable[[], gym.Env]  # builds one env; picklable, for subprocess vector envs
    obs_dim: int  # scenario-wide observation size; observations are zero-padded up to it
    action_dim: int  # number of discrete actions, or size of the continuous action vector
    discrete: bool
    max_episode_steps: int
    action_low: np.ndarray  # [action_dim] float32 (zeros when discrete)
    action_high: np.ndarray
    success: bool  # the env reports info["success"]: the task's score is the success rate
    host_stepped: ClassVar[bool] = True

    def vector(self, num_envs: int, asynchronous: bool = False, role: str = "") -> HostVector:
        """`num_envs` copies, built once per (size, mode, role) and shared while this env
        lives: building a Meta-World env takes seconds, and a study's reference runs, agents
        and evaluations all step the same tasks, one after the other. Users that step at
        the same time must differ in `role` (e.g. training and evaluation)."""
        shelf = _VECTORS.setdefault(self, {})
        if (num_envs, asynchronous, role) not in shelf:
            shelf[num_envs, asynchronous, role] = HostVector(self, num_envs, asynchronous)
        return shelf[num_envs, asynchronous, role]

    def env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Agent actions to the env's scale: indices unchanged; normalized continuous
        actions (clipped to [-1, 1]) mapped linearly onto the bounds, as `TaskEnv` does."""
        actions = np.asarray(actions)
        if self.discrete:
            return actions
        unit = np.clip(actions.astype(np.float32), -1.0, 1.0)
        return self.action_low + (unit + 1.0) * 0.5 * (self.action_high - self.action_low)


_VECTORS: weakref.WeakKeyDictionary[HostEnv, dict] = weakref.WeakKeyDictionary()


class HostVector:
    """`num_envs` copies of a `HostEnv` stepped together (in subprocesses if asynchronous).

    Subprocesses are spawned, not forked: the parent runs JAX, whose threads a fork would
    copy in an unknown state.
    """

    def __init__(self, env: HostEnv, num_envs: int, asynchronous: bool = False):
        fns = [env.factory] * num_envs
        mode = gym.vector.AutoresetMode.NEXT_STEP
        if asynchronous:
            self._vector = gym.vector.AsyncVectorEnv(fns, context="spawn", autoreset_mode=mode)
        else:
            self._vector = gym.vector.SyncVectorEnv(fns, autoreset_mode=mode)
        self.env = env
        self.num_envs = num_envs
        self._action_shape = self._vector.single_action_space.shape
        self._ended = np.zeros(num_envs, bool)

    def _pad(self, obs: Any) -> np.ndarray:
        flat = np.asarray(obs, np.float32).reshape(self.num_envs, -1)
        padded = np.zeros((self.num_envs, self.env.obs_dim), np.float32)
        padded[:, : flat.shape[1]] = flat
        return padded

    def reset(self, seed: int) -> np.ndarray:
        """Resets every sub-env (sub-env i with seed + i); returns [n, obs_dim] observations."""
        obs, _ = self._vector.reset(seed=seed)
        self._ended[:] = False
        return self._pad(obs)

    def step(self, actions: np.ndarray) -> HostStep:
        """Steps with actions in the env's own scale (continuous) or action indices."""
        if self.env.discrete:
            env_actions = np.asarray(actions, np.int64).reshape(self.num_envs)
        else:
            clipped = np.clip(np.asarray(actions, np.float32), self.env.action_low,
                              self.env.action_high)
            env_actions = clipped.reshape(self.num_envs, *self._action_shape)
        obs, reward, terminated, truncated, info = self._vector.step(env_actions)
        valid = ~self._ended
        self._ended = np.logical_or(terminated, truncated)
        reported = info.get("_success", np.zeros(self.num_envs, bool))
        success = np.where(reported, info.get("success", 0.0), 0.0).astype(np.float32)
        return HostStep(obs=self._pad(obs), reward=np.asarray(reward, np.float32),
                        terminated=np.asarray(terminated, bool),
                        truncated=np.asarray(truncated, bool), valid=valid, success=success)

    def close(self) -> None:
        self._vector.close()


def host_env_from_factory(
    name: str, factory: Callable[[], gym.Env], field: str, obs_dim: int | None = None
) -> HostEnv:
    """Builds one env with `factory` to read its spaces and its step limit (from its spec,
    as `gymnasium.make` sets it with the TimeLimit it adds); errors name `field`."""
    try:
        probe = factory()
    except gym.error.DependencyNotInstalled as error:
        fix = MUJOCO_FIX if "mujoco" in str(error).lower() else "install the missing package"
        raise ConfigError(field, f"{name} cannot start ({error}); {fix}") from None
    except TypeError as error:  # e.g. a keyword argument the env's constructor does not take
        raise ConfigError(field, f"{name} rejected its arguments: {error}") from None
    try:
        return _describe(probe, name, factory, field, obs_dim)
    finally:
        probe.close()


def _describe(probe: gym.Env, name: str, factory: Callable[[], gym.Env], field: str,
              obs_dim: int | None) -> HostEnv:
    observations, actions = probe.observation_space, probe.action_space
    if not isinstance(observations, gym.spaces.Box):
        raise ConfigError(field, f"{name} has a {type(observations).__name__} observation "
                          "space; only Box observations are supported")
    raw_size = int(np.prod(observations.shape))
    if obs_dim is not None and obs_dim < raw_size:
        raise ConfigError(field, f"{name} observes {raw_size} values, more than obs_dim {obs_dim}")
    if isinstance(actions, gym.spaces.Discrete) and int(actions.start) == 0:
        discrete, action_dim = True, int(actions.n)
        low = high = np.zeros(action_dim, np.float32)
    elif isinstance(actions, gym.spaces.Box):
        discrete, action_dim = False, int(np.prod(actions.shape))
        low = np.asarray(actions.low, np.float32).reshape(-1)
        high = np.asarray(actions.high, np.float32).reshape(-1)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ConfigError(field, f"{name} has unbounded continuous actions; the learner "
                              "maps its actions into finite bounds")
    else:
        raise ConfigError(field, f"{name} has the action space {actions}; supported are Box "
                          "and Discrete starting at 0")
    steps = probe.spec.max_episode_steps if probe.spec else None
    if not steps:
        raise ConfigError(field, f"{name} has no step limit; give it max_episode_steps")
    return HostEnv(name=name, factory=factory, obs_dim=obs_dim or raw_size,
                   action_dim=action_dim, discrete=discrete, max_episode_steps=int(steps),
                   action_low=low, action_high=high, success=False)


def make_host_env(
    env_id: str,
    kwargs: dict[str, Any] | None = None,
    obs_dim: int | None = None,
    max_episode_steps: int | None = None,
    name: str | None = None,
    field: str = "env_id",
) -> HostEnv:
    """A registered Gymnasium env with constructor `kwargs`, described as a `HostEnv`.

    The factory makes the env from its registry spec rather than its id, so a subprocess
    builds it without re-running whatever registered it. `name` defaults to the id
    followed by the arguments of `gymnasium.make`, e.g. "Pendulum-v1{'g': 4.0}".
    """
    if env_id not in gym.registry:
        guess = difflib.get_close_matches(env_id, list(gym.registry), n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else "see gymnasium.pprint_registry()"
        raise ConfigError(field, f"unknown Gymnasium env {env_id!r}; {hint}")
    make_kwargs = dict(kwargs or {})
    if max_episode_steps is not None:
        make_kwargs["max_episode_steps"] = max_episode_steps
    factory = partial(gym.make, gym.spec(env_id), disable_env_checker=True, **make_kwargs)
    label = name or (f"{env_id}{make_kwargs}" if make_kwargs else env_id)
    return host_env_from_factory(label, factory, field, obs_dim)


def host_params(env: HostEnv, task_id: int) -> TaskParams:
    """Identity task parameters of a host task: the runner reads only its task id."""
    if env.discrete:
        action_map = jnp.arange(env.action_dim, dtype=jnp.int32)
    else:
        action_map = jnp.ones(env.action_dim, jnp.float32)
    return TaskParams(
        env_params=jnp.zeros(()),
        obs_index=jnp.arange(env.obs_dim, dtype=jnp.int32),
        obs_sign=jnp.ones(env.obs_dim, jnp.float32),
        action_map=action_map,
        task_id=jnp.int32(task_id),
    )
