"""Averaged Gradient Episodic Memory, A-GEM (Chaudhry, Ranzato, Rohrbach and Elhoseiny, 2019).

A-GEM keeps an episodic memory of past tasks and forbids updates that increase the loss
on it, to first order. At every step it computes a reference gradient g_ref of the memory
loss on a random memory batch at the current parameters; when the proposed gradient g
points against it (g . g_ref < 0) it is replaced by its projection onto the half-space
{g : g . g_ref >= 0}:

    g <- g - (g . g_ref / ||g_ref||^2) g_ref        (dot products over all parameters)

For a policy, the memory loss is the distillation loss to what the agent did on the past
task: KL(mu_stored(.|s) || pi(.|s)) + value_weight * (V(s) - V_stored(s))^2, with mu and
V_stored the policy and value at the end of the task the state came from.

The memory is filled at every task end with `per_task` states of the task's last rollout
and the final policy's outputs on them, by reservoir sampling over these end-of-task
batches: with `size >= num_tasks * per_task` every task keeps all its states, otherwise
each task keeps an equal share in expectation (the paper's per-task quota, in expectation,
without a per-task table). There is no projection while the memory is empty (first task).

The projection acts on the (clipped) gradient, before the learner's Adam.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.replay import memory

NAME = "agem"


class AGEMOptions(ComponentOptions):
    size: int = Field(5000, ge=1, description="Episodic memory slots (states).")
    per_task: int = Field(512, ge=1, description="States of each task's last rollout offered "
                          "to the memory at the task end (at most the rollout size).")
    batch_size: int = Field(256, ge=1, description="Memory states for the reference gradient.")
    value_weight: float = Field(0.5, ge=0, description="Weight of the value error in the "
                                "memory loss.")


def tree_dot(a, b) -> jax.Array:
    """Sum over every leaf of the elementwise product (the flattened dot product)."""
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def project(g, g_ref, active=True):
    """A-GEM's projection of the gradient pytree `g` given the reference gradient `g_ref`:
    unchanged when g . g_ref >= 0 (or when not `active`), else the component along g_ref
    removed."""
    dot = tree_dot(g, g_ref)
    ref_norm = tree_dot(g_ref, g_ref)
    conflict = jnp.logical_and(active, dot < 0)
    scale = jnp.where(conflict, dot / jnp.maximum(ref_norm, 1e-30), 0.0)
    return jax.tree.map(lambda x, r: jnp.where(conflict, x - scale * r, x), g, g_ref)


def memory_loss(params, state, spec, key, batch_size):
    replay = memory.sample(state["memory"], batch_size, key)
    kl, value_error = memory.cloning_loss(spec, params, replay)
    return kl + state["value_weight"] * value_error


@register_component(NAME, "optimization", AGEMOptions,
                    "A-GEM: project gradients that would increase the loss on past tasks.")
def agem(options: AGEMOptions) -> Component:
    def init(key, params, spec):
        del key, params
        return {"memory": memory.init(options.size, spec),
                "value_weight": jnp.float32(options.value_weight)}

    def grad_tx(spec):
        def update(updates, opt_state, params=None, *, components, batch, key, **extra):
            del batch, extra
            state = components[NAME]
            g_ref = jax.grad(memory_loss)(params, state, spec, key, options.batch_size)
            active = memory.filled(state["memory"]) > 0
            return project(updates, g_ref, active), opt_state

        return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)

    def on_task_end(state, params, batch, spec, key):
        stored = memory.record(state["memory"], spec, params, batch.obs, batch.task_id,
                               options.per_task, key)
        return {**state, "memory": stored}

    return Component(NAME, init, grad_tx=grad_tx, on_task_end=on_task_end,
                     requires_boundaries=True)
