"""Memory Aware Synapses (Aljundi, Babiloni, Elhoseiny, Rohrbach and Tuytelaars, 2018).

MAS measures how sensitive the network's output is to each parameter, without labels or
rewards: with F(x; theta) the network's outputs on a state x (here the policy head's output
and the value, concatenated), the importance of parameter i is the mean over states of the
magnitude of the gradient of the squared output norm,

    Omega_i^t = (1 / N) * sum_x | d ||F(x; theta)||_2^2 / d theta_i |,

computed at the end of task t on the states of the task's last rollout. Importances add up
over tasks, Omega <- decay * Omega + Omega^t, and a single anchor theta* moves to the
parameters at each task end. While training later tasks the loss gains

    strength * sum_i Omega_i (theta_i - theta*_i)^2,

which is zero during the first task (Omega starts at zero).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.regularization.l2 import squared_distance


class MASOptions(ComponentOptions):
    strength: float = Field(10.0, ge=0, description="Penalty coefficient lambda.")
    decay: float = Field(1.0, ge=0, le=1,
                         description="Factor applied to the past importances at each task end "
                                     "(1: plain accumulation, as in the paper).")
    samples: int = Field(512, ge=1, description="Last-rollout states used for the importance.")


def squared_output_norm(spec, params, obs: jax.Array, task_id: jax.Array) -> jax.Array:
    """||F(x)||^2 per state [B]: the policy head's output(s) and the value, squared and summed."""
    head, value = spec.apply(params, obs, task_id)
    total = value**2
    for leaf in jax.tree.leaves(head):
        total = total + jnp.sum(leaf**2, axis=-1)
    return total


def mas_importance(spec, params, obs: jax.Array, task_id: jax.Array):
    """Omega: mean over the states `obs` [N, obs_dim] of |d ||F(x)||^2 / d theta|."""

    def single(p, x, task):
        return squared_output_norm(spec, p, x[None], task).sum()

    tasks = jnp.broadcast_to(task_id, obs.shape[:1])  # one id for all states, or one each
    grads = jax.vmap(jax.grad(single), in_axes=(None, 0, 0))(params, obs, tasks)
    return jax.tree.map(lambda g: jnp.mean(jnp.abs(g), axis=0), grads)


@register_component("mas", "regularization", MASOptions,
                    "Memory Aware Synapses: output-sensitivity-weighted anchor to past "
                    "parameters.")
def mas(options: MASOptions) -> Component:
    def init(key, params, spec):
        del key, spec
        return {"anchor": params, "importance": jax.tree.map(jnp.zeros_like, params),
                "strength": jnp.float32(options.strength), "decay": jnp.float32(options.decay)}

    def penalty(params, state, batch, spec, key):
        del batch, spec, key
        return state["strength"] * squared_distance(params, state["anchor"], state["importance"])

    def on_task_end(state, params, batch, spec, key):
        del key
        importance = mas_importance(spec, params, batch.obs[:options.samples], batch.task_id)
        importance = jax.tree.map(lambda old, new: state["decay"] * old + new,
                                  state["importance"], importance)
        return {**state, "anchor": params, "importance": importance}

    return Component("mas", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
