"""Continual Backprop, CBP (Dohare, Sutton and Mahmood, 2021; Dohare et al., 2024).

CBP keeps injecting fresh units the way backprop's initialisation did at the start. For
every hidden unit i of a layer it keeps an age a_i and a running contribution utility

    u_i <- eta * u_i + (1 - eta) * mean_{x in batch} |h_i(x)| * sum_k |w_ik|,

with h_i the unit's activation and w_ik its outgoing weights (the row of the Dense that
reads the layer). After every gradient step each unit ages by one and, per layer, the
units older than the maturity threshold m are eligible. A fractional counter accumulates
rho * (number eligible) each step; when it reaches n >= 1, the n eligible units with the
lowest utility are replaced and the counter keeps the remainder, so a small rate still
replaces one unit every 1 / (rho * eligible) steps. A replaced unit gets fresh incoming
weights (see `units.py`: a fresh random column at the RMS column norm of the layer's
initial kernel, zero bias), zero outgoing weights, zero Adam moments on those weights, and
age and utility zero.

The utility is the plain contribution utility of the PPO experiments of Dohare et al.
(2024) (no division by the incoming weights, no bias correction of the next layer).

Defaults: eta = 0.99 and rho = 1e-4 as in the PPO configuration of the loss-of-plasticity
code. Its maturity m = 1e4 steps exceeds a whole task here (a few thousand gradient steps),
so CBP would never act; the default m = 100 is the time the utility average (eta = 0.99)
needs to forget its initial value. With 64 units per layer, rho = 1e-4 then replaces about
one unit per layer every 160 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component, LearnerState
from lifelong.components.plasticity.units import (
    column_norms,
    recycle_units,
    require_hidden_layers,
    reset_adam_moments,
    when,
)
from lifelong.components.registry import ComponentOptions, register_component

NAME = "cbp"


class CBPOptions(ComponentOptions):
    replacement_rate: float = Field(1e-4, ge=0, le=1, description="rho: fraction of the "
                                    "eligible units of a layer replaced per gradient step "
                                    "(0 turns CBP off).")
    maturity: int = Field(100, ge=0, le=1_000_000, description="m: gradient steps a unit "
                          "must age before it may be replaced.")
    decay: float = Field(0.99, ge=0, lt=1, description="eta: decay of the running utility.")


def contribution(activations: jax.Array, outgoing_kernel: jax.Array) -> jax.Array:
    """mean_b |h_bi| * sum_k |w_ik| for every unit i: [B, W], [W, K] -> [W]."""
    return jnp.abs(activations).mean(axis=0) * jnp.abs(outgoing_kernel).sum(axis=1)


def select_replacements(utility: jax.Array, age: jax.Array, counter: jax.Array,
                        rate: jax.Array, maturity: jax.Array
                        ) -> tuple[jax.Array, jax.Array]:
    """One layer's CBP choice: (replace [W] bool, new counter).

    The counter grows by rate * (eligible units); its whole part is the number replaced
    (at most the eligible count), the lowest-utility eligible units.
    """
    eligible = age > maturity
    count = eligible.sum()
    counter = counter + rate * count
    n = jnp.minimum(jnp.floor(counter), count)
    counter = counter - n
    order = jnp.argsort(jnp.where(eligible, utility, jnp.inf))
    rank = jnp.zeros_like(order).at[order].set(jnp.arange(order.shape[0]))
    return eligible & (rank < n), counter


@register_component(NAME, "plasticity", CBPOptions,
                    "Continual Backprop: keep replacing the least useful mature units.")
def cbp(options: CBPOptions) -> Component:
    def init(key, params, spec):
        del key
        layers = require_hidden_layers(spec, NAME)
        width = {layer.name: params["params"][layer.name]["kernel"].shape[1]
                 for layer in layers}
        return {
            "utility": {n: jnp.zeros(w, jnp.float32) for n, w in width.items()},
            "age": {n: jnp.zeros(w, jnp.int32) for n, w in width.items()},
            "counter": {n: jnp.float32(0.0) for n in width},
            "rate": jnp.float32(options.replacement_rate),
            "maturity": jnp.int32(options.maturity),
            "decay": jnp.float32(options.decay),
            "norm": column_norms(params),
        }

    def after_update(learner, state, batch, spec, key):
        layers = require_hidden_layers(spec, NAME)
        features = spec.features(learner.params, batch.obs, batch.task_id)
        utility, age, counter, masks = {}, {}, {}, {}
        eta = state["decay"]
        for layer in layers:
            name = layer.name
            outgoing = learner.params["params"][layer.outgoing]["kernel"]
            u = eta * state["utility"][name] + (1 - eta) * contribution(features[name],
                                                                        outgoing)
            a = state["age"][name] + 1
            replace, counter[name] = select_replacements(
                u, a, state["counter"][name], state["rate"], state["maturity"])
            masks[name] = replace
            utility[name] = jnp.where(replace, 0.0, u)
            age[name] = jnp.where(replace, 0, a)

        def replace_units(operand):
            params, opt_state, masks, norms, key = operand
            params, touched = recycle_units(params, layers, masks, norms, key)
            return params, reset_adam_moments(opt_state, touched), masks, norms, key

        any_replaced = jnp.any(jnp.stack([m.any() for m in masks.values()]))
        params, opt_state, *_ = when(any_replaced, replace_units,
                                     (learner.params, learner.opt_state, masks, state["norm"],
                                      key))
        state = {**state, "utility": utility, "age": age, "counter": counter}
        return LearnerState(params, opt_state), state

    return Component(NAME, init, after_update=after_update)
