"""Task-conditioned hypernetwork (von Oswald, Henning, Grewe and Sacramento, 2020).

The agent's actor-critic has no weights of its own: a hypernetwork h(e; psi), an MLP,
maps a learned task embedding e_t (one row of a [num_tasks, embed_dim] table) to all of
them, theta_t = h(e_t; psi), and the actor-critic runs functionally with theta_t. Forgetting
is fought in the space of generated weights: at the end of each task the weights generated
for every task seen so far are stored, theta*_j = h(e_j; psi*), and while later tasks train,

    penalty = strength / max(1, |old|) * sum_{j in old} || h(e_j; psi) - theta*_j ||^2

with `old` the stored tasks other than the current one (the paper's output regularizer with
the look-ahead Delta psi set to zero, which the paper allows). Only a handful of vectors
per task is remembered; the current task's embedding and psi are otherwise free.

Design:
- The generated network has the learner's sizes and activation: separate actor and critic
  MLPs with the learner's hidden widths, a logits head (discrete) or a mean head and a
  generated, per-task `log_std` (continuous). The hypernetwork is not chunked.
- Initialisation: psi's output layer has zero kernel and a bias holding a standard
  actor-critic initialisation (orthogonal kernels with the actor-critic's scales, zero
  biases), so at the start every task generates a well-scaled network; the task-specific
  part grows from there. The output layer reads the hidden features scaled by
  1 / width, so that Adam's per-parameter steps move the generated weights about as fast
  as they move a plain network's (each generated weight sums width terms).
- The embeddings start small normal (`embed_std`) and train with psi on the current
  task's loss; the penalty is evaluated at the current embeddings, so it also holds the old
  embeddings in place.
- With `multihead` the per-task heads are not used (the generated network is already
  per task). The network's weights are not parameters, so `hidden_layers()` is empty;
  hidden activations are still sown (`actor_0_features`, ...) for inspection.

Needs the task id (to pick the embedding) and the task boundaries (to store targets).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, PositiveInt

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.errors import ConfigError
from lifelong.learners.networks import ACTIVATIONS, FEATURE_SUFFIX, ActorCritic

NAME = "hypernet"


class HypernetOptions(ComponentOptions):
    strength: float = Field(0.1, ge=0, description="beta: weight of the output regularizer "
                            "that keeps the weights generated for old tasks in place.")
    embed_dim: int = Field(8, ge=1, description="Size of each task embedding e_t.")
    embed_std: float = Field(1.0, gt=0, description="Std of the embeddings' normal init.")
    hidden: list[PositiveInt] = Field([32], min_length=1, description="Hidden widths of the "
                              "hypernetwork MLP (ReLU).")


def target_shapes(obs_dim: int, action_dim: int, discrete: bool, hidden: Sequence[int]):
    """[(name, shape, orthogonal init scale or None for zeros)] of the generated weights."""
    shapes = []
    for torso, out_width, out_scale in (("actor", action_dim, 0.01), ("critic", 1, 1.0)):
        width_in = obs_dim
        for i, width in enumerate(hidden):
            shapes += [(f"{torso}_{i}/kernel", (width_in, width), float(np.sqrt(2))),
                       (f"{torso}_{i}/bias", (width,), None)]
            width_in = width
        shapes += [(f"{torso}_out/kernel", (width_in, out_width), out_scale),
                   (f"{torso}_out/bias", (out_width,), None)]
    if not discrete:
        shapes.append(("log_std", (action_dim,), None))
    return tuple(shapes)


class HyperActorCritic(nn.Module):
    """(obs, task_id) -> (head, value), with the actor-critic's weights generated from a
    task embedding by an MLP; `generate(task_ids)` gives the flat generated weights."""

    obs_dim: int
    action_dim: int
    discrete: bool
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"
    num_tasks: int = 1
    embed_dim: int = 8
    embed_std: float = 1.0
    hyper_hidden: Sequence[int] = (64,)

    def _targets(self):
        return target_shapes(self.obs_dim, self.action_dim, self.discrete, self.hidden)

    def _base_init(self, key, shape, dtype=jnp.float32):
        """A standard actor-critic initialisation, flattened: the output layer's bias."""
        parts = []
        for (_, target, scale), k in zip(self._targets(),
                                         jax.random.split(key, len(self._targets()))):
            if scale is None:
                parts.append(jnp.zeros(int(np.prod(target)), dtype))
            else:
                parts.append(nn.initializers.orthogonal(scale)(k, target, dtype).ravel())
        flat = jnp.concatenate(parts)
        assert flat.shape == tuple(shape), (flat.shape, shape)
        return flat

    def setup(self):
        self.embeddings = self.param("embeddings", nn.initializers.normal(self.embed_std),
                                     (self.num_tasks, self.embed_dim))
        self.hyper = [nn.Dense(width) for width in self.hyper_hidden]
        size = sum(int(np.prod(shape)) for _, shape, _ in self._targets())
        self.hyper_out = nn.Dense(size, kernel_init=nn.initializers.zeros,
                                  bias_init=self._base_init)

    def generate(self, task_ids: jax.Array) -> jax.Array:
        """Flat generated weights [..., size] for task ids of any shape."""
        x = jnp.take(self.embeddings, task_ids, axis=0, mode="clip")
        for dense in self.hyper:
            x = nn.relu(dense(x))
        return self.hyper_out(x / x.shape[-1])

    def unpack(self, flat: jax.Array) -> dict[str, jax.Array]:
        """{target name: weight} from one flat generated vector [size]."""
        weights, start = {}, 0
        for name, shape, _ in self._targets():
            size = int(np.prod(shape))
            weights[name] = flat[start:start + size].reshape(shape)
            start += size
        return weights

    def __call__(self, obs: jax.Array, task_id: jax.Array):
        weights = self.unpack(self.generate(task_id))
        act = ACTIVATIONS[self.activation]

        def torso(x, name):
            for i in range(len(self.hidden)):
                x = act(x @ weights[f"{name}_{i}/kernel"] + weights[f"{name}_{i}/bias"])
                self.sow("intermediates", f"{name}_{i}{FEATURE_SUFFIX}", x)
            return x @ weights[f"{name}_out/kernel"] + weights[f"{name}_out/bias"]

        actor = torso(obs, "actor")
        value = torso(obs, "critic")[..., 0]
        if self.discrete:
            return actor, value
        return (actor, jnp.broadcast_to(weights["log_std"], actor.shape)), value

    def hidden_layers(self) -> tuple:
        """Empty: the generated network's weights are not parameters."""
        return ()


def generated_drift(generated: jax.Array, targets: jax.Array, old: jax.Array) -> jax.Array:
    """sum_{j old} ||generated_j - targets_j||^2 / max(1, |old|); generated, targets [K, P]."""
    squared = jnp.sum((generated - targets) ** 2, axis=-1)
    return jnp.sum(old * squared) / jnp.maximum(1.0, old.sum())


@register_component(NAME, "architecture", HypernetOptions,
                    "Task-conditioned hypernetwork generating the actor-critic's weights, "
                    "with an output regularizer on old tasks' generated weights.")
def hypernet(options: HypernetOptions) -> Component:
    def wrap_network(network, spec):
        if not isinstance(network, ActorCritic):
            raise ConfigError(NAME, f"hypernet generates the actor-critic's weights, but the "
                              f"network is a {type(network).__name__}; list hypernet as the "
                              "only architecture component that wraps the network")
        if network.layer_norm:
            raise ConfigError(NAME, "hypernet generates a plain MLP without LayerNorm; remove "
                              "the component that turns layer_norm on (nap)")
        return HyperActorCritic(spec.obs_dim, spec.action_dim, spec.discrete,
                                tuple(network.hidden), network.activation, spec.num_tasks,
                                options.embed_dim, options.embed_std, tuple(options.hidden))

    def generate_all(params, spec):
        return spec.apply(params, jnp.arange(spec.num_tasks), method="generate")

    def init(key, params, spec):
        del key
        generated = generate_all(params, spec)
        return {"targets": jnp.zeros_like(generated),
                "stored": jnp.zeros(spec.num_tasks, jnp.float32),
                "strength": jnp.float32(options.strength)}

    def penalty(params, state, batch, spec, key):
        del key
        old = state["stored"] * (jnp.arange(spec.num_tasks) != batch.task_id)
        drift = generated_drift(generate_all(params, spec), state["targets"], old)
        return state["strength"] * drift

    def on_task_end(state, params, batch, spec, key):
        del key
        stored = state["stored"].at[batch.task_id].set(1.0)
        targets = generate_all(params, spec) * stored[:, None]
        return {**state, "targets": targets, "stored": stored}

    return Component(NAME, init, penalty=penalty, wrap_network=wrap_network,
                     on_task_end=on_task_end, requires_task_id=True, requires_boundaries=True)
