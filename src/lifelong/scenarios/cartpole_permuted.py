"""CartPole with a permuted, sign-flipped observation per task and swapped actions in odd tasks.

Task 0 is plain CartPole. Later tasks look unrelated to the network (the inputs move and
flip) and every odd task swaps left and right, so a policy fine-tuned on one task is
wrong on the next: a strong-interference stream on which fine-tuning really forgets.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from pydantic import Field

from lifelong.envs.task_env import identity_params, make_task_env, traced_env_params
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task


class CartPolePermutedOptions(ScenarioOptions):
    num_tasks: int = Field(4, ge=1, description="Number of distinct tasks.")
    seed: int = Field(0, description="Seed of the permutations and sign flips.")


@register_scenario(
    "cartpole-permuted",
    CartPolePermutedOptions,
    "CartPole with per-task observation permutation/sign flips; odd tasks swap the actions.",
)
def build(options: CartPolePermutedOptions) -> list[Task]:
    task_env = make_task_env("CartPole-v1")
    env_params = traced_env_params(task_env.env.default_params)
    rng = np.random.default_rng(options.seed)
    tasks = []
    for i in range(options.num_tasks):
        params = identity_params(task_env, env_params, task_id=i)
        permutation = rng.permutation(task_env.obs_dim)
        signs = rng.choice([-1.0, 1.0], task_env.obs_dim)
        if i > 0:
            params = params.replace(obs_index=jnp.asarray(permutation, jnp.int32),
                                    obs_sign=jnp.asarray(signs, jnp.float32))
        if i % 2:
            params = params.replace(action_map=jnp.asarray([1, 0], jnp.int32))
        tasks.append(Task(name=f"cartpole-{i}", env=task_env, params=params))
    return tasks
