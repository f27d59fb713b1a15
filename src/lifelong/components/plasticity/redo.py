"""ReDo: Recycling Dormant neurons (Sokar, Agarwal, Castro and Evci, 2023).

A hidden unit i of layer l is tau-dormant on a batch of states D when its score

    s_i = E_{x~D} |h_i(x)| / ( (1/W) sum_k E_{x~D} |h_k(x)| )  <=  tau,

i.e. its mean absolute activation is at most a fraction tau of the layer's average
(`lifelong.evaluation.diagnostics.unit_scores`). Every `every` gradient steps ReDo scores
every hidden unit on the current minibatch's states (one forward pass, after the step) and
recycles the dormant ones: their incoming weights are re-initialised, their outgoing weights
set to zero (so the network's output does not jump), and Adam's moments of exactly those
weights reset to zero.

Re-initialisation (see `units.py`): each recycled unit's incoming column is a fresh random
direction, drawn with the component's key, with the RMS column norm of the layer's initial
kernel (for the actor-critic's orthogonal initialisation, the distribution of a freshly
initialised column); its bias goes to zero and, with LayerNorm (nap), its LayerNorm scale
and offset back to one and zero. (Storing the initial weights instead would give a unit
that is recycled twice the same incoming weights twice.)

The paper recycles every 1000 steps in DQN; the default here, 100, is the PPO setting of
the loss-of-plasticity code base, and suits tasks of a few thousand gradient steps.
"""

from __future__ import annotations

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
from lifelong.evaluation.diagnostics import DORMANT_THRESHOLD, unit_scores

NAME = "redo"


class ReDoOptions(ComponentOptions):
    every: int = Field(100, ge=1, le=1_000_000,
                       description="Recycle dormant units every this many gradient steps.")
    tau: float = Field(DORMANT_THRESHOLD, ge=0, le=1,
                       description="Dormancy threshold on the unit score (fraction of the "
                       "layer's mean activation).")


def dormant_masks(features: dict, layers, tau) -> dict:
    """{layer name: [width] bool, the tau-dormant units}."""
    return {layer.name: unit_scores(features[layer.name]) <= tau for layer in layers}


@register_component(NAME, "plasticity", ReDoOptions,
                    "ReDo: periodically re-initialise dormant hidden units.")
def redo(options: ReDoOptions) -> Component:
    def init(key, params, spec):
        del key
        require_hidden_layers(spec, NAME)
        return {"step": jnp.int32(0), "every": jnp.int32(options.every),
                "tau": jnp.float32(options.tau), "norm": column_norms(params)}

    def after_update(learner, state, batch, spec, key):
        layers = require_hidden_layers(spec, NAME)

        def recycle(operand):
            params, opt_state, obs, task_id, tau, norms, key = operand
            features = spec.features(params, obs, task_id)
            params, touched = recycle_units(params, layers, dormant_masks(features, layers, tau),
                                            norms, key)
            opt_state = reset_adam_moments(opt_state, touched)
            return params, opt_state, obs, task_id, tau, norms, key

        step = state["step"] + 1
        params, opt_state, *_ = when(
            step % state["every"] == 0, recycle,
            (learner.params, learner.opt_state, batch.obs, batch.task_id, state["tau"],
             state["norm"], key))
        return LearnerState(params, opt_state), {**state, "step": step}

    return Component(NAME, init, after_update=after_update)
