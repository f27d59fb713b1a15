"""Logit-swap self-distillation, from Mix-CPT (Jiang et al., ICLR 2025), adapted to RL.

In Mix-CPT, continual pre-training of a language model is kept from forgetting by a
self-distillation constraint: the teacher distribution is the model's own (detached)
next-token logits z with two entries swapped, the gold token's logit and the largest one,
so the gold token becomes the top-1 prediction while the rest of the distribution stays the
model's own; the model is then trained towards softmax(z_swap). The swap changes nothing
where the model already ranks the gold token first.

RL has no gold label, so here the "gold" action of a state is the one the previous task's
policy prefers: at each task end a frozen snapshot of the parameters is kept (the teacher)
with that task's id k. On the current minibatch's states s, with z = stop_gradient(logits of
the current network for task k) and a = argmax of the teacher's logits for task k,

    z_swap = z with z[a] and max(z) exchanged,
    loss   = strength * mean_s KL(softmax(z_swap) || pi(. | s, k)).

The current policy is pushed to keep the old policy's preferred action on top and is
otherwise left its own distribution (the gradient vanishes on states where the two policies
already agree on the top action). With a single head k changes nothing; under `multihead`
it selects the old task's head, as in LwF. Discrete actions only; zero during the first
task.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.regularization.distill import set_teacher, teacher_state
from lifelong.errors import ConfigError


class LogitSwapOptions(ComponentOptions):
    strength: float = Field(1e5, ge=0, description="Weight of the self-distillation loss.")


def swap_logits(logits: jax.Array, gold: jax.Array) -> jax.Array:
    """`logits` [..., A] with the entry at `gold` [...] and the largest entry exchanged."""
    index = jnp.arange(logits.shape[-1])
    top = jnp.argmax(logits, axis=-1)[..., None]
    gold = gold[..., None].astype(top.dtype)
    top_value = jnp.max(logits, axis=-1, keepdims=True)
    gold_value = jnp.take_along_axis(logits, gold, axis=-1)
    return jnp.where(index == gold, top_value, jnp.where(index == top, gold_value, logits))


def logit_swap_loss(logits: jax.Array, gold: jax.Array) -> jax.Array:
    """Mean over states of KL(softmax(swap(stop_gradient(logits), gold)) || softmax(logits))."""
    target = jax.lax.stop_gradient(swap_logits(logits, gold))
    log_p, log_q = jax.nn.log_softmax(target), jax.nn.log_softmax(logits)
    return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1).mean()


@register_component("logit_swap", "regularization", LogitSwapOptions,
                    "Mix-CPT logit-swap self-distillation towards the previous task's top "
                    "action (discrete actions).")
def logit_swap(options: LogitSwapOptions) -> Component:
    def init(key, params, spec):
        del key
        if not spec.discrete:
            raise ConfigError("components.logit_swap", "logit_swap swaps the logits of a "
                              "discrete policy, but this environment has continuous actions; "
                              "use 'distill' instead")
        return {**teacher_state(params), "strength": jnp.float32(options.strength)}

    def penalty(params, state, batch, spec, key):
        del key
        task = state["teacher_task"]
        teacher_logits, _ = spec.apply(state["teacher"], batch.obs, task)
        gold = jnp.argmax(jax.lax.stop_gradient(teacher_logits), axis=-1)
        logits, _ = spec.apply(params, batch.obs, task)
        return state["active"] * state["strength"] * logit_swap_loss(logits, gold)

    def on_task_end(state, params, batch, spec, key):
        del spec, key
        return set_teacher(state, params, batch.task_id)

    return Component("logit_swap", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
