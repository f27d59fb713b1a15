"""The evaluator: mean episodic return of a policy on every eval task, inside jit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from lifelong.envs import TaskEnv, TaskParams

# act(obs [N, obs_dim], task_id [], key, greedy) -> actions [N, ...]
Actor = Callable[[jax.Array, jax.Array, jax.Array, bool], jax.Array]


def stack_params(params: Sequence[TaskParams]) -> TaskParams:
    """Stacks the parameters of tasks that share an env along a new leading task axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *params)


@dataclass(frozen=True)
class Evaluator:
    """Runs `episodes` parallel episodes per eval task, each up to the env's step limit.

    `groups` lists, per environment, the eval-task positions it serves; `eval_params` given
    at call time holds one stacked `TaskParams` per group, in the same order.
    """

    groups: tuple[tuple[TaskEnv, tuple[int, ...]], ...]
    num_tasks: int
    episodes: int
    greedy: bool
    max_steps: int | None = None

    def _one_task(self, task_env: TaskEnv, act: Actor, params: TaskParams, key: jax.Array):
        key_reset, key_run = jax.random.split(key)
        reset = jax.vmap(task_env.reset, in_axes=(0, None))
        step = jax.vmap(task_env.step, in_axes=(0, 0, 0, None))
        obs, state = reset(jax.random.split(key_reset, self.episodes), params)
        steps = min(task_env.max_episode_steps, self.max_steps or task_env.max_episode_steps)

        def body(carry, key):
            obs, state, episode_return, finished = carry
            key_act, key_step = jax.random.split(key)
            action = act(obs, params.task_id, key_act, self.greedy)
            obs, state, reward, done = step(jax.random.split(key_step, self.episodes), state,
                                            action, params)
            episode_return = episode_return + jnp.where(finished, 0.0, reward)
            return (obs, state, episode_return, finished | done), None

        init = (obs, state, jnp.zeros(self.episodes), jnp.zeros(self.episodes, bool))
        (_, _, episode_return, _), _ = jax.lax.scan(body, init, jax.random.split(key_run, steps))
        return episode_return.mean()

    def __call__(self, act: Actor, eval_params: Sequence[TaskParams], key: jax.Array):
        """[eval_tasks] mean return of the first episode of each parallel env."""
        returns = jnp.zeros(self.num_tasks)
        for (task_env, positions), params, group_key in zip(
            self.groups, eval_params, jax.random.split(key, len(self.groups))
        ):
            keys = jax.random.split(group_key, len(positions))
            group = jax.vmap(lambda p, k, env=task_env: self._one_task(env, act, p, k))
            returns = returns.at[jnp.asarray(positions)].set(group(params, keys))
        return returns


def random_actor(task_env: TaskEnv) -> Actor:
    """Uniform-random policy: the lower anchor of score normalization."""

    def act(obs: jax.Array, task_id: jax.Array, key: jax.Array, greedy: bool) -> jax.Array:
        del task_id, greedy
        if task_env.discrete:
            return jax.random.randint(key, obs.shape[:1], 0, task_env.action_dim)
        return jax.random.uniform(key, (obs.shape[0], task_env.action_dim), minval=-1, maxval=1)

    return act
