"""The learners' MLPs: PPO's actor-critic, SAC's actor with twin critics, DQN's Q-network,
the offline learners' networks.

All have optional per-task output heads (set by the `multihead` component) and optional
LayerNorm before each nonlinearity (set by the `nap` component); their hidden Dense modules
are named `<torso>_<i>` at the top of `params`, which is how components find layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lifelong.components.component import HiddenLayer
from lifelong.learners.distributions import LOG_STD_MAX, LOG_STD_MIN

ACTIVATIONS = {"tanh": nn.tanh, "relu": nn.relu, "leaky_relu": nn.leaky_relu}
FEATURE_SUFFIX = "_features"  # sown activations of Dense module X are named X + this suffix


def torso(module: nn.Module, x: jax.Array, name: str, hidden: Sequence[int], activation: str,
          layer_norm: bool, first_layer_norm: bool = False) -> jax.Array:
    """Dense layers `<name>_<i>` inside `module`'s compact call, each activation sown as
    `<name>_<i>_features`. `first_layer_norm`: LayerNorm then tanh after the first layer
    (Continual World's SAC networks), whatever `activation` the others use."""
    act = ACTIVATIONS[activation]
    for i, width in enumerate(hidden):
        x = nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)),
                     name=f"{name}_{i}")(x)
        first = first_layer_norm and i == 0
        if layer_norm or first:
            x = nn.LayerNorm(name=f"{name}_{i}_norm")(x)
        x = nn.tanh(x) if first else act(x)
        module.sow("intermediates", f"{name}_{i}{FEATURE_SUFFIX}", x)
    return x


def task_head(x: jax.Array, width: int, num_heads: int, scale: float, task_id: jax.Array,
              name: str) -> jax.Array:
    """A Dense output layer with `num_heads` copies; the copy is chosen by the task id (one
    for the whole batch, or one per row)."""
    out = nn.Dense(width * num_heads, kernel_init=nn.initializers.orthogonal(scale),
                   name=name)(x)
    out = out.reshape(*out.shape[:-1], num_heads, width)
    head = task_id % num_heads
    if head.ndim == 0:
        return jnp.take(out, head, axis=-2)
    return jnp.take_along_axis(out, head[:, None, None], axis=-2)[..., 0, :]  # [B] ids


def layer_pairs(torsos: Sequence[str], depth: int) -> tuple[HiddenLayer, ...]:
    """Every hidden layer of the named torsos with the Dense module that reads it."""
    layers = []
    for name in torsos:
        names = [f"{name}_{i}" for i in range(depth)] + [f"{name}_out"]
        layers += [HiddenLayer(a, b) for a, b in zip(names[:-1], names[1:])]
    return tuple(layers)


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs; the last layer of each has `num_heads` copies.

    The head is chosen by the task id the scenario lets the agent see (0 when hidden).
    """

    action_dim: int
    discrete: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    num_heads: int = 1
    layer_norm: bool = False

    def hidden_layers(self) -> tuple[HiddenLayer, ...]:
        return layer_pairs(("actor", "critic"), len(self.hidden))

    @nn.compact
    def __call__(self, obs: jax.Array, task_id: jax.Array):
        body = partial(torso, self, hidden=self.hidden, activation=self.activation,
                       layer_norm=self.layer_norm)
        actor = task_head(body(obs, "actor"), self.action_dim, self.num_heads, 0.01, task_id,
                          "actor_out")
        value = task_head(body(obs, "critic"), 1, self.num_heads, 1.0, task_id,
                          "critic_out")[..., 0]
        if self.discrete:
            return actor, value
        log_std = self.param("log_std", nn.initializers.zeros, (self.num_heads, self.action_dim))
        log_std = jnp.broadcast_to(log_std[task_id % self.num_heads], actor.shape)
        return (actor, log_std), value


class SACNetwork(nn.Module):
    """SAC's tanh-Gaussian actor, twin Q critics and entropy temperature (one per head).

    `apply(params, obs, task_id)` is the components' view: (actor head (mean, log_std),
    value = min_i Q_i(obs, tanh(mean))); with `with_value=False` the value is None (no
    critic pass). `apply(params, obs, task_id, action)` gives the learner's (q1, q2,
    log_alpha) for the given actions.
    """

    action_dim: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    num_heads: int = 1
    layer_norm: bool = False
    first_layer_norm: bool = False
    discrete: bool = False

    def hidden_layers(self) -> tuple[HiddenLayer, ...]:
        return layer_pairs(("actor", "critic1", "critic2"), len(self.hidden))

    @nn.compact
    def __call__(self, obs: jax.Array, task_id: jax.Array, action: jax.Array | None = None,
                 with_value: bool = True):
        body = partial(torso, self, hidden=self.hidden, activation=self.activation,
                       layer_norm=self.layer_norm, first_layer_norm=self.first_layer_norm)

        def critics(action):
            inputs = jnp.concatenate([obs, action], axis=-1)
            return tuple(task_head(body(inputs, name), 1, self.num_heads, 1.0, task_id,
                                   f"{name}_out")[..., 0] for name in ("critic1", "critic2"))

        log_alpha = self.param("log_alpha", nn.initializers.zeros, (self.num_heads,))
        if action is not None:
            q1, q2 = critics(action)
            return q1, q2, log_alpha[task_id % self.num_heads]
        out = task_head(body(obs, "actor"), 2 * self.action_dim, self.num_heads, 0.01, task_id,
                        "actor_out")
        mean, log_std = jnp.split(out, 2, axis=-1)
        log_std = jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)
        if not with_value:
            return (mean, log_std), None
        q1, q2 = critics(jnp.tanh(mean))
        return (mean, log_std), jnp.minimum(q1, q2)


class QNetwork(nn.Module):
    """DQN's Q-values; the components' view is (Q-values as logits [B, A], max_a Q)."""

    action_dim: int
    hidden: Sequence[int] = (64, 64)
    activation: str = "relu"
    num_heads: int = 1
    layer_norm: bool = False
    discrete: bool = True

    def hidden_layers(self) -> tuple[HiddenLayer, ...]:
        return layer_pairs(("q",), len(self.hidden))

    @nn.compact
    def __call__(self, obs: jax.Array, task_id: jax.Array):
        x = torso(self, obs, "q", self.hidden, self.activation, self.layer_norm)
        q = task_head(x, self.action_dim, self.num_heads, 1.0, task_id, "q_out")
        return q, q.max(axis=-1)


class OfflineNetwork(nn.Module):
    """The offline learners' actor with twin Q critics, and optionally a state-value MLP
    (IQL) and a second actor (OER's new-task actor).

    `apply(params, obs, task_id)` is the components' view, as SAC's: (deployed actor head
    (mean, log_std), min_i Q_i(obs, tanh(mean))); `with_value=False` skips the critics.
    `apply(..., action=a)` gives (q1, q2); `head="value"` gives V(obs); `head="new_actor"`
    the second actor's head. Every part is created at init; the components' view of the
    hidden layers (`hidden_layers`: plasticity methods, diagnostics) is that of the default
    call, the deployed actor and the critics.
    """

    action_dim: int
    hidden: Sequence[int] = (256, 256)
    activation: str = "relu"
    num_heads: int = 1
    layer_norm: bool = False
    state_value: bool = False
    dual_actor: bool = False
    discrete: bool = False

    def hidden_layers(self) -> tuple[HiddenLayer, ...]:
        return layer_pairs(("actor", "critic1", "critic2"), len(self.hidden))

    @nn.compact
    def __call__(self, obs: jax.Array, task_id: jax.Array, action: jax.Array | None = None,
                 with_value: bool = True, head: str = "actor"):
        body = partial(torso, self, hidden=self.hidden, activation=self.activation,
                       layer_norm=self.layer_norm)

        def out(name: str, x: jax.Array, width: int, scale: float) -> jax.Array:
            return task_head(body(x, name), width, self.num_heads, scale, task_id,
                             f"{name}_out")

        def critics(action):
            inputs = jnp.concatenate([obs, action], axis=-1)
            return tuple(out(name, inputs, 1, 1.0)[..., 0] for name in ("critic1", "critic2"))

        def policy(name: str):
            mean, log_std = jnp.split(out(name, obs, 2 * self.action_dim, 0.01), 2, axis=-1)
            return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)

        if self.is_initializing():  # create every part, whatever this call asks for
            if self.state_value:
                out("value", obs, 1, 1.0)
            if self.dual_actor:
                policy("new_actor")
        if action is not None:
            return critics(action)
        if head == "value":
            return out("value", obs, 1, 1.0)[..., 0]
        mean, log_std = policy(head)
        if not with_value:
            return (mean, log_std), None
        return (mean, log_std), jnp.minimum(*critics(jnp.tanh(mean)))


# The networks whose Dense kernels are ours.
MLP_NETWORKS = (ActorCritic, SACNetwork, QNetwork, OfflineNetwork)


def features(network: nn.Module, params, obs: jax.Array, task_id: jax.Array) -> dict:
    """{hidden layer name: post-activation [B, width]} of `network` on `obs`."""
    _, state = network.apply(params, obs, task_id, mutable="intermediates")
    return {name.removesuffix(FEATURE_SUFFIX): values[0]
            for name, values in state["intermediates"].items()}
