"""L2 anchor: `strength * sum((theta - theta_prev)^2)` to the parameters at the last task end.

The penalty is off during the first task (there is no previous task yet); the anchor moves
to the current parameters at every task end.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component


class L2Options(ComponentOptions):
    strength: float = Field(1.0, ge=0, description="Penalty coefficient lambda.")


def squared_distance(params, anchor, weights=None) -> jax.Array:
    """sum_i w_i (params_i - anchor_i)^2 over every leaf (w = 1 when not given)."""
    weights = weights if weights is not None else jax.tree.map(jnp.ones_like, anchor)
    terms = jax.tree.map(lambda p, a, w: jnp.sum(w * (p - a) ** 2), params, anchor, weights)
    return sum(jax.tree.leaves(terms))


@register_component("l2", "regularization", L2Options,
                    "Quadratic penalty to the previous task's parameters.")
def l2(options: L2Options) -> Component:
    def init(key, params, spec):
        del key, spec
        return {"anchor": params, "active": jnp.float32(0.0),
                "strength": jnp.float32(options.strength)}

    def penalty(params, state, batch, spec, key):
        del batch, spec, key
        return state["active"] * state["strength"] * squared_distance(params, state["anchor"])

    def on_task_end(state, params, batch, spec, key):
        del batch, spec, key
        return {**state, "anchor": params, "active": jnp.float32(1.0)}

    return Component("l2", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
