"""Actor-critic MLP with optional per-task output heads (set by the `multihead` component)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs; the last layer of each has `num_heads` copies.

    The head is chosen by the task id the scenario lets the agent see (0 when hidden).
    """

    action_dim: int
    discrete: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    num_heads: int = 1

    def _torso(self, x: jax.Array, name: str) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.hidden):
            dense = nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)),
                             name=f"{name}_{i}")
            x = act(dense(x))
        return x

    def _head(self, x: jax.Array, width: int, scale: float, task_id: jax.Array, name: str):
        out = nn.Dense(width * self.num_heads, kernel_init=nn.initializers.orthogonal(scale),
                       name=name)(x)
        out = out.reshape(*out.shape[:-1], self.num_heads, width)
        return jnp.take(out, task_id % self.num_heads, axis=-2)

    @nn.compact
    def __call__(self, obs: jax.Array, task_id: jax.Array):
        actor = self._head(self._torso(obs, "actor"), self.action_dim, 0.01, task_id,
                           "actor_out")
        value = self._head(self._torso(obs, "critic"), 1, 1.0, task_id, "critic_out")[..., 0]
        if self.discrete:
            return actor, value
        log_std = self.param("log_std", nn.initializers.zeros, (self.num_heads, self.action_dim))
        log_std = jnp.broadcast_to(log_std[task_id % self.num_heads], actor.shape)
        return (actor, log_std), value
