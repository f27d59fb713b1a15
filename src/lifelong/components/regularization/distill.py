"""Policy distillation from the previous task's policy (Learning without Forgetting, Li and
Hoiem, 2017; policy distillation, Rusu et al., 2016).

At each task end a frozen copy of the network's parameters becomes the teacher, together
with the id of the task it was trained on. While training later tasks, on the states s of
the current minibatch, the loss gains

    strength * [ mean_s KL(pi_teacher(. | s, k) || pi(. | s, k))
                 + value_strength * mean_s (V_teacher(s, k) - V(s, k))^2 ],

where k is the teacher's task id: like LwF, the current network is asked to keep the old
task's outputs (its head, under `multihead`) on the new task's states. With a single head k
changes nothing. Only the latest teacher is kept. Zero during the first task. The value
term is only built when the `value_strength` option is positive: multiplied by zero it would
still change how XLA compiles the critic's gradient, and `strength: 0` could then differ from
fine-tuning in the last bits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component


class DistillOptions(ComponentOptions):
    strength: float = Field(10.0, ge=0, description="Weight of the whole distillation loss.")
    value_strength: float = Field(0.0, ge=0,
                                  description="Weight of the value-distillation term (squared "
                                              "error to the teacher's value), relative to the "
                                              "policy term; the term exists only when this "
                                              "option is > 0.")


def teacher_state(params) -> dict:
    """A teacher slot: parameters, its task id and whether it is set (not yet)."""
    return {"teacher": params, "teacher_task": jnp.int32(0), "active": jnp.float32(0.0)}


def set_teacher(state: dict, params, task_id: jax.Array) -> dict:
    """The teacher slot holding `params`, trained on `task_id` (a batch's id: one for the
    batch, or one per state, of which the last is kept)."""
    task = jnp.ravel(jnp.asarray(task_id, jnp.int32))[-1]
    return {**state, "teacher": params, "teacher_task": task, "active": jnp.float32(1.0)}


def distillation_loss(spec, params, teacher, obs, task_id, value_weight=None):
    """Mean over `obs` of KL(teacher || current), plus value_weight * (V_teacher - V)^2
    when a value weight is given (None: the value is not involved at all)."""
    teacher_head, teacher_value = jax.lax.stop_gradient(spec.apply(teacher, obs, task_id))
    head, value = spec.apply(params, obs, task_id)
    loss = spec.distribution.kl(teacher_head, head).mean()
    if value_weight is not None:
        loss = loss + value_weight * jnp.mean((teacher_value - value) ** 2)
    return loss


@register_component("distill", "regularization", DistillOptions,
                    "Distills the previous task's policy (and optionally value) into the "
                    "current network on current states.")
def distill(options: DistillOptions) -> Component:
    def init(key, params, spec):
        del key, spec
        return {**teacher_state(params), "strength": jnp.float32(options.strength),
                "value_strength": jnp.float32(options.value_strength)}

    def penalty(params, state, batch, spec, key):
        del key
        value_weight = state["value_strength"] if options.value_strength > 0 else None
        loss = distillation_loss(spec, params, state["teacher"], batch.obs,
                                 state["teacher_task"], value_weight)
        return state["active"] * state["strength"] * loss

    def on_task_end(state, params, batch, spec, key):
        del spec, key
        return set_teacher(state, params, batch.task_id)

    return Component("distill", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
