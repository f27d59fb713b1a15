"""CLEAR's behavioural cloning on replayed experience (Rolnick, Ahuja, Schwarz, Lillicrap and
Wayne, 2019), for an on-policy learner.

CLEAR trains on a 50/50 mix of new and replayed experience. On the replayed part it adds,
besides its V-trace actor-critic loss, two cloning terms that keep the network close to
the policy mu and value V_stored recorded when the experience was collected:

    L_clone = policy_cloning * E_s KL(mu(.|s) || pi(.|s))
            + value_cloning * E_s (V(s) - V_stored(s))^2

Here the whole penalty is `strength * L_clone`, on a memory batch as large as the current
minibatch (CLEAR's 50/50 mix). Differences from the paper, and why:

- PPO is on-policy and has no V-trace term, so replay acts only through the cloning terms.
  The paper's weights (0.01 and 0.005) are relative to the V-trace loss on replay; with the
  cloning terms as the only replay signal they are far too weak to matter, so the defaults
  keep the paper's 2:1 policy:value ratio at a scale that protects the old policy.
- The memory is filled at the end of each task, from the task's last rollout, with the
  outputs of the final policy of that task (a reservoir over these end-of-task batches).
  CLEAR stores everything it acts on, continuously; but without an off-policy learning
  term, cloning towards the half-trained policies of early training (and towards stale
  outputs on the current task) would drag the learner back. The end-of-task policy is the
  one worth keeping, so this variant needs task boundaries. The task-free, continuously
  filled alternative is `reservoir` (logit regression, after DER).
"""

from __future__ import annotations

import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.components.replay import memory


class ClearOptions(ComponentOptions):
    size: int = Field(5000, ge=1, description="Memory slots (states).")
    per_task: int = Field(512, ge=1, description="States of each task's last rollout offered "
                          "to the memory at the task end (at most the rollout size).")
    strength: float = Field(1.0, ge=0, description="Coefficient of the whole cloning loss.")
    policy_cloning: float = Field(1.0, ge=0, description="Weight of KL(mu_stored || pi).")
    value_cloning: float = Field(0.5, ge=0, description="Weight of (V - V_stored)^2.")


@register_component("clear", "replay", ClearOptions,
                    "CLEAR: policy (KL) and value cloning on replayed past-task states.")
def clear(options: ClearOptions) -> Component:
    def init(key, params, spec):
        del key, params
        return {"memory": memory.init(options.size, spec),
                "strength": jnp.float32(options.strength),
                "policy_cloning": jnp.float32(options.policy_cloning),
                "value_cloning": jnp.float32(options.value_cloning)}

    def penalty(params, state, batch, spec, key):
        replay = memory.sample(state["memory"], batch.obs.shape[0], key)
        kl, value_error = memory.cloning_loss(spec, params, replay)
        loss = state["policy_cloning"] * kl + state["value_cloning"] * value_error
        return state["strength"] * loss

    def on_task_end(state, params, batch, spec, key):
        stored = memory.record(state["memory"], spec, params, batch.obs, batch.task_id,
                               options.per_task, key)
        return {**state, "memory": stored}

    return Component("clear", init, penalty=penalty, on_task_end=on_task_end,
                     requires_boundaries=True)
