"""Actor-critic MLP with optional per-task output heads (set by the `multihead` component)
and optional LayerNorm before each nonlinearity (set by the `nap` component)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lifelong.components.component import HiddenLayer

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu}
FEATURE_SUFFIX = "_features"  # sown activations of Dense module X are named X + this suffix


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs; the last layer of each has `num_heads` copies.

    The head is chosen by the task id the scenario lets the agent see (0 when hidden): one id
    for the whole batch, or one per row.
    Hidden activations are sown into the `intermediates` collection, named after their
    Dense module (see `features`).
    """

    action_dim: int
    discrete: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    num_heads: int = 1
    layer_norm: bool = False

    def _torso(self, x: jax.Array, name: str) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.hidden):
            dense = nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)),
                             name=f"{name}_{i}")
            x = dense(x)
            if self.layer_norm:
                x = nn.LayerNorm(name=f"{name}_{i}_norm")(x)
            x = act(x)
            self.sow("intermediates", f"{name}_{i}{FEATURE_SUFFIX}", x)
        return x

    def hidden_layers(self) -> tuple[HiddenLayer, ...]:
        """Every hidden layer with the Dense module that reads it."""
        layers = []
        for torso in ("actor", "critic"):
            names = [f"{torso}_{i}" for i in range(len(self.hidden))] + [f"{torso}_out"]
            layers += [HiddenLayer(a, b) for a, b in zip(names[:-1], names[1:])]
        return tuple(layers)

    def _head(self, x: jax.Array, width: int, scale: float, task_id: jax.Array, name: str):
        out = nn.Dense(width * self.num_heads, kernel_init=nn.initializers.orthogonal(scale),
                       name=name)(x)
        out = out.reshape(*out.shape[:-1], self.num_heads, width)
        head = task_id % self.num_heads
        if head.ndim == 0:
            return jnp.take(out, head, axis=-2)
        return jnp.take_along_axis(out, head[:, None, None], axis=-2)[..., 0, :]  # [B] ids

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


def features(network: nn.Module, params, obs: jax.Array, task_id: jax.Array) -> dict:
    """{hidden layer name: post-activation [B, width]} of `network` on `obs`."""
    _, state = network.apply(params, obs, task_id, mutable="intermediates")
    return {name.removesuffix(FEATURE_SUFFIX): values[0]
            for name, values in state["intermediates"].items()}
