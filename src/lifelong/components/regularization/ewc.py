"""Elastic Weight Consolidation, online variant (Kirkpatrick et al. 2017; Schwarz et al. 2018).

At each task end the diagonal Fisher F_t of the policy (log pi(a|s), actions sampled from
the policy) and of the value head (a unit-variance Gaussian likelihood) is estimated on
states of that task, then accumulated as F <- decay * F + F_t with a single anchor at the
current parameters. Penalty: (strength / 2) * sum_i F_i (theta_i - theta*_i)^2.
`decay=1` is plain accumulation; the first task has no penalty.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.regularization.l2 import squared_distance


class EWCOptions(ComponentOptions):
    strength: float = Field(1e4, ge=0, description="Penalty coefficient lambda.")
    decay: float = Field(1.0, ge=0, le=1, description="Online-EWC decay gamma of the Fisher.")
    samples: int = Field(256, ge=1, description="States used to estimate the Fisher.")


def diagonal_fisher(params, batch, spec, key, samples: int):
    """Mean over states of squared per-state gradients of log pi(a|s) + log N(v; V(s), 1)."""
    obs = batch.obs[:samples]
    keys = jax.random.split(key, obs.shape[0])

    def log_likelihood(p, single_obs, k):
        head, value = spec.apply(p, single_obs[None], batch.task_id)
        action = jax.lax.stop_gradient(spec.distribution.sample(head, k))
        target = jax.lax.stop_gradient(value + jax.random.normal(k, value.shape))
        return (spec.distribution.log_prob(head, action) - 0.5 * (target - value) ** 2).sum()

    grads = jax.vmap(jax.grad(log_likelihood), in_axes=(None, 0, 0))(params, obs, keys)
    return jax.tree.map(lambda g: jnp.mean(g**2, axis=0), grads)


@register_component("ewc", "regularization", EWCOptions,
                    "Online EWC: diagonal-Fisher-weighted anchor to past parameters.")
def ewc(options: EWCOptions) -> Component:
    def init(key, params, spec):
        del key, spec
        return {"anchor": params, "fisher": jax.tree.map(jnp.zeros_like, params),
                "strength": jnp.float32(options.strength), "decay": jnp.float32(options.decay)}

    def penalty(params, state, batch, spec, key):
        del batch, spec, key
        distance = squared_distance(params, state["anchor"], state["fisher"])
        return 0.5 * state["strength"] * distance

    def on_task_end(state, params, batch, spec, key):
        fisher = diagonal_fisher(params, batch, spec, key, options.samples)
        fisher = jax.tree.map(lambda old, new: state["decay"] * old + new, state["fisher"],
                              fisher)
        return {**state, "anchor": params, "fisher": fisher}

    return Component("ewc", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
