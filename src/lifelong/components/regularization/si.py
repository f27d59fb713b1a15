"""Synaptic Intelligence (Zenke, Poole and Ganguli, 2017).

SI credits each parameter with its share of the loss decrease along the training path.
Over every gradient step k of a task it accumulates the path integral

    w_i <- w_i - g_i(k) * delta_theta_i(k),

with g the gradient the optimizer received and delta_theta the step actually taken. At the
end of task t the credit is turned into an importance by dividing by how far the parameter
travelled over the task (damped by xi),

    Omega_i <- Omega_i + max(0, w_i / ((theta_i(end of t) - theta_i(start of t))^2 + xi)),

then w is reset and both the anchor theta* and the task-start parameters move to the
current parameters. While training later tasks the loss gains

    strength * sum_i Omega_i (theta_i - theta*_i)^2,

zero during the first task (Omega starts at zero).

Here g is the gradient Adam received: the learner's total gradient (penalties included)
after its global-norm clipping and after any optimization component chained before Adam. It
is read back from Adam's first moment, which after each step holds
mu_k = b1 mu_(k-1) + (1 - b1) g(k), so g(k) = (mu_k - b1 mu_(k-1)) / (1 - b1); `after_update`
finds Adam's state by type (and b1 among its injected hyperparameters) in the learner's
optimizer state and keeps mu_(k-1) in the component state. (Recording the gradient with a
pass-through `grad_tx` instead changes how XLA fuses the optimizer step, which breaks
`strength: 0` being bit-identical to fine-tuning by one float32 ulp; reading the moment
leaves the learner's computation untouched.) Negative per-task credits, which noisy PPO
gradients can produce, are clipped to zero so the penalty stays a consolidation (a negative
Omega would push parameters away from the anchor).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.regularization.l2 import squared_distance


class SIOptions(ComponentOptions):
    strength: float = Field(1000.0, ge=0, description="Penalty coefficient c.")
    xi: float = Field(0.1, gt=0, description="Damping xi of the per-task importance.")


def _is_adam(x) -> bool:
    return isinstance(x, optax.ScaleByAdamState)


def _is_injected(x) -> bool:
    return isinstance(x, (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState))


def adam_moment(opt_state) -> tuple[Any, jax.Array]:
    """(mu, b1) of the learner's Adam: searched under the chain entry "adam" when there is
    one, else in the whole optimizer state, by type (resolved at trace time)."""
    scope = opt_state
    if isinstance(opt_state, Mapping) and "adam" in opt_state:
        scope = opt_state["adam"]
    found = [x for x in jax.tree.leaves(scope, is_leaf=_is_adam) if _is_adam(x)]
    if len(found) != 1:
        raise ValueError(f"si reads the gradient back from Adam's first moment and expects "
                         f"one optax ScaleByAdamState in the optimizer state, found "
                         f"{len(found)}; use an Adam learner")
    b1 = jnp.float32(inspect.signature(optax.adam).parameters["b1"].default)
    for injected in (x for x in jax.tree.leaves(scope, is_leaf=_is_injected)
                     if _is_injected(x)):
        b1 = injected.hyperparams.get("b1", b1)
    return found[0].mu, b1


def gradient_from_moments(mu, previous_mu, b1):
    """The gradient g with mu = b1 * previous_mu + (1 - b1) * g, leaf by leaf."""
    return jax.tree.map(lambda m, q: (m - b1 * q) / (1 - b1), mu, previous_mu)


def path_integral_step(w, grad, params, previous):
    """w - g * (params - previous), leaf by leaf."""
    return jax.tree.map(lambda w_, g, p, q: w_ - g * (p - q), w, grad, params, previous)


def consolidate(omega, w, params, start, xi):
    """Omega + max(0, w / ((params - start)^2 + xi)), leaf by leaf."""
    return jax.tree.map(lambda o, w_, p, s: o + jnp.maximum(w_ / ((p - s) ** 2 + xi), 0.0),
                        omega, w, params, start)


@register_component("si", "regularization", SIOptions,
                    "Synaptic Intelligence: path-integral importance anchor to past parameters.")
def si(options: SIOptions) -> Component:
    def init(key, params, spec):
        del key, spec
        zeros = jax.tree.map(jnp.zeros_like, params)
        # Adam's first moment starts at zero (optax's init), hence previous_mu.
        return {"anchor": params, "start": params, "previous": params, "previous_mu": zeros,
                "w": zeros, "omega": zeros, "strength": jnp.float32(options.strength),
                "xi": jnp.float32(options.xi)}

    def penalty(params, state, batch, spec, key):
        del batch, spec, key
        return state["strength"] * squared_distance(params, state["anchor"], state["omega"])

    def after_update(learner, state, batch, spec, key):
        del batch, spec, key
        mu, b1 = adam_moment(learner.opt_state)
        grad = gradient_from_moments(mu, state["previous_mu"], b1)
        w = path_integral_step(state["w"], grad, learner.params, state["previous"])
        return learner, {**state, "w": w, "previous": learner.params, "previous_mu": mu}

    def on_task_end(state, params, batch, spec, key):
        del batch, spec, key
        omega = consolidate(state["omega"], state["w"], params, state["start"], state["xi"])
        return {**state, "omega": omega, "w": jax.tree.map(jnp.zeros_like, state["w"]),
                "anchor": params, "start": params, "previous": params}

    return Component("si", init, penalty=penalty, after_update=after_update,
                     on_task_end=on_task_end, requires_boundaries=True)
