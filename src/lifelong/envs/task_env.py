"""A gymnax environment seen through a task's observation and action transforms.

Every task of a scenario exposes the same flat observation vector and the same action
space, so one learner (and one compiled training function) serves the whole stream.
What differs between tasks that share an environment is data (`TaskParams`), never code:
changing it never triggers a recompilation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces


class TaskParams(struct.PyTreeNode):
    """Traced description of one task: env physics plus observation/action transforms."""

    env_params: Any
    obs_index: jax.Array  # [obs_dim] int32; index into the raw flat obs, raw_size = a zero
    obs_sign: jax.Array  # [obs_dim] float32
    action_map: jax.Array  # discrete: [num_actions] int32 env action; continuous: [action_dim] sign
    task_id: jax.Array  # [] int32; 0 when the scenario hides task identity


@dataclass(frozen=True, eq=False)
class TaskEnv:
    """Static part of a task: the gymnax env and the shared observation/action spec.

    Instances compare by identity, so tasks built on one `TaskEnv` share compiled code.
    """

    name: str  # gymnax id, e.g. "CartPole-v1"
    env: Any  # gymnax.environments.environment.Environment
    obs_dim: int
    action_dim: int  # number of discrete actions, or size of the continuous action vector
    # Continuous actions are normalized: the agent acts in [-1, 1]^action_dim (clipped), which
    # is mapped linearly onto the env's bounds, so every learner and the random baseline
    # cover the whole action space.
    discrete: bool
    max_episode_steps: int
    host_stepped: ClassVar[bool] = False  # stepped inside jit (see envs.host_env for host)

    @property
    def raw_obs_size(self) -> int:
        return int(np.prod(self.env.observation_space(self.env.default_params).shape))

    def _observe(self, raw_obs: jax.Array, params: TaskParams) -> jax.Array:
        flat = jnp.concatenate([raw_obs.reshape(-1).astype(jnp.float32), jnp.zeros(1)])
        return flat[params.obs_index] * params.obs_sign

    def reset(self, key: jax.Array, params: TaskParams) -> tuple[jax.Array, Any]:
        raw_obs, state = self.env.reset(key, params.env_params)
        return self._observe(raw_obs, params), state

    def action_bounds(self, params: TaskParams) -> tuple[jax.Array, jax.Array]:
        """(low, high) [action_dim] of a continuous action space (may depend on the params)."""
        space = self.env.action_space(params.env_params)
        shape = (self.action_dim,)
        return (jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), shape),
                jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), shape))

    def transition(
        self, key: jax.Array, state: Any, action: jax.Array, params: TaskParams
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, jax.Array]:
        """Steps with auto-reset; returns (obs, state, reward, terminated, truncated,
        final_obs): `obs` is the reset observation where the episode ended, `final_obs` the
        observation the step reached (the transition's next observation, for replay)."""
        if self.discrete:
            env_action = params.action_map[action]
        else:  # normalized actions: [-1, 1] spans the env's bounds
            low, high = self.action_bounds(params)
            unit = jnp.clip(action, -1.0, 1.0) * params.action_map
            env_action = low + (unit + 1.0) * 0.5 * (high - low)
        raw_obs, state, reward, terminated, truncated, info = self.env.step(
            key, state, env_action, params.env_params
        )
        return (self._observe(raw_obs, params), state, reward.astype(jnp.float32),
                terminated, truncated, self._observe(info["final_observation"], params))

    def step(
        self, key: jax.Array, state: Any, action: jax.Array, params: TaskParams
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array]:
        """Steps with auto-reset; returns (obs, state, reward, done)."""
        obs, state, reward, terminated, truncated, _ = self.transition(key, state, action,
                                                                       params)
        return obs, state, reward, jnp.logical_or(terminated, truncated)


def action_spec(env: Any) -> tuple[int, bool]:
    """(action_dim, discrete) of a gymnax env's action space."""
    space = env.action_space(env.default_params)
    if isinstance(space, spaces.Discrete):
        return int(space.n), True
    return int(np.prod(space.shape)), False


def identity_params(task_env: TaskEnv, env_params: Any, task_id: int = 0) -> TaskParams:
    """Task parameters that leave observations and actions unchanged."""
    raw = task_env.raw_obs_size
    index = np.arange(task_env.obs_dim)
    index = np.where(index < raw, index, raw)
    if task_env.discrete:
        action_map = jnp.arange(task_env.action_dim, dtype=jnp.int32)
    else:
        action_map = jnp.ones(task_env.action_dim, jnp.float32)
    return TaskParams(
        env_params=env_params,
        obs_index=jnp.asarray(index, jnp.int32),
        obs_sign=jnp.ones(task_env.obs_dim, jnp.float32),
        action_map=action_map,
        task_id=jnp.asarray(task_id, jnp.int32),
    )


def make_task_env(
    env_id: str, obs_dim: int | None = None, action_dim: int | None = None
) -> TaskEnv:
    """Wraps a registered gymnax env; `obs_dim`/`action_dim` pad to a scenario-wide spec."""
    import gymnax

    env, env_params = gymnax.make(env_id)
    own_action_dim, discrete = action_spec(env)
    raw_size = int(np.prod(env.observation_space(env_params).shape))
    return TaskEnv(
        name=env_id,
        env=env,
        obs_dim=obs_dim or raw_size,
        action_dim=action_dim or own_action_dim,
        discrete=discrete,
        max_episode_steps=int(env_params.max_steps_in_episode),
    )


def traced_env_params(env_params: Any) -> Any:
    """Env params as arrays (float32 for floats), so a change of value never recompiles."""

    def to_array(leaf: Any) -> jax.Array:
        array = jnp.asarray(leaf)
        return array.astype(jnp.float32) if jnp.issubdtype(array.dtype, jnp.floating) else array

    return jax.tree.map(to_array, env_params)
