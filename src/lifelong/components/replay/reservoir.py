"""Task-free replay of the policy's own past outputs, after Dark Experience Replay
(Buzzega, Boschini, Porrello, Abati and Calderara, 2020).

DER keeps a reservoir of past inputs together with the network's outputs (logits) at the
time they were stored, and adds to the loss the squared distance between the current and
the stored outputs on a batch drawn from it: `alpha * E_{(x, z) ~ M} ||f(x) - z||^2`.
Here the memory is filled after every gradient step with `per_step` states of the current
minibatch and the policy head and value of the just-updated network on them; no task
boundary or task id is needed. The penalty on a memory batch B is

    strength * mean_{s in B} ( ||h(s) - h_stored(s)||^2 + value_weight * (V(s) - V_stored(s))^2 )

where h is the policy head output: the logits (discrete actions) or the concatenated mean
and log-std (continuous actions). DER's logit target keeps more information than a label
or an action, and it needs no knowledge of where tasks start or end.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.replay import memory


class ReservoirOptions(ComponentOptions):
    size: int = Field(5000, ge=1, description="Memory slots (states).")
    batch_size: int = Field(128, ge=1, description="Memory states replayed per gradient step.")
    strength: float = Field(1.0, ge=0, description="Coefficient alpha of the replay loss.")
    value_weight: float = Field(0.1, ge=0, description="Weight of the value error relative "
                                "to the policy-output error.")
    per_step: int = Field(4, ge=1, description="States of each minibatch offered to the "
                          "reservoir after the gradient step (at most the minibatch size).")


def output_error(head, stored) -> jax.Array:
    """||h - h_stored||^2 per state, summed over every array of the head."""
    errors = jax.tree.map(lambda a, b: jnp.sum((a - b) ** 2, axis=-1), head, stored)
    return sum(jax.tree.leaves(errors))


@register_component("reservoir", "replay", ReservoirOptions,
                    "Task-free Dark Experience Replay: match stored policy logits and values.")
def reservoir(options: ReservoirOptions) -> Component:
    def init(key, params, spec):
        del key, params
        return {"memory": memory.init(options.size, spec),
                "strength": jnp.float32(options.strength),
                "value_weight": jnp.float32(options.value_weight)}

    def penalty(params, state, batch, spec, key):
        del batch
        replay = memory.sample(state["memory"], options.batch_size, key)
        head, value = memory.outputs(spec, params, replay.obs, replay.task_id)
        error = output_error(head, replay.head) + state["value_weight"] * (value -
                                                                            replay.value) ** 2
        return state["strength"] * replay.valid * error.mean()

    def after_update(learner, state, batch, spec, key):
        stored = memory.record(state["memory"], spec, learner.params, batch.obs,
                               batch.task_id, options.per_step, key)
        return learner, {**state, "memory": stored}

    return Component("reservoir", init, penalty=penalty, after_update=after_update)
