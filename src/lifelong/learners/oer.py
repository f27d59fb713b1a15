"""Offline Experience Replay, OER (Gai, Wang and He, ECAI 2023): TD3+BC with a rehearsal
memory chosen by model-based experience selection and trained by dual behaviour cloning.

Two actors share the critics. The new-task actor mu_N learns the current task with TD3+BC
(`TD3BC`'s critic and actor losses, target actions from its target). The deployed actor
mu_C, the one evaluated and the one the components see, learns by cloning only:

    mean ||mu_C(s) - mu_N(s)||^2 over the task's rows  +  mean ||mu_C(s_m) - a_m||^2 over the
    memory's rows,

with mu_N held fixed. Q-learning then never competes with the cloning of old tasks (the
paper's reason for the split); the critics learn from the current task's rows only. The
memory is filled at each task's end by `replay_selection` (default `mbes`,
`learners.mbes`), `replay_per_task` transitions per task.

The dual-cloning loss above is this project's reading of the paper's description (a new
actor trained by TD3+BC, a continual actor that clones it on the new task and the
memory's actions on the old ones); the paper's exact weighting could not be checked, so
both terms have weight 1.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
from pydantic import Field

from lifelong.learners.offline import MBESConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState
from lifelong.learners.td3bc import TD3BC, TD3BCConfig


class OERConfig(TD3BCConfig):
    name: Literal["oer"] = "oer"  # type: ignore[assignment]
    replay_per_task: int = Field(1000, ge=1, description="Transitions of each finished task "
                                 "kept for rehearsal.")
    replay_selection: Literal["random", "mbes"] = Field(
        "mbes", description="How the kept transitions are chosen (mbes: OER's selection; "
        "random: the dual-cloning ablation).")
    mbes: MBESConfig = Field(MBESConfig(), description="Options of the experience selection.")


class OER(TD3BC):
    dual_actor: ClassVar[bool] = True
    config: OERConfig

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        """The current task's part: critics and mu_N by TD3+BC, mu_C cloning mu_N."""
        teacher = jax.lax.stop_gradient(self.deterministic(params, rows.obs, rows.task_id,
                                                           "new_actor"))
        clone = ((self.deterministic(params, rows.obs, rows.task_id) - teacher) ** 2).mean()
        return (self.critic_loss(params, agent, rows, key, head="new_actor")
                + self.actor_step(agent) * self.actor_loss(params, rows, head="new_actor")
                + clone)

    def rehearsal_loss(self, params, agent: AgentState, new: Transitions, old: Transitions,
                       old_valid: jax.Array, key: jax.Array) -> jax.Array:
        """Plus mu_C cloning the memory's actions (no Q-learning on the memory)."""
        recall = ((self.deterministic(params, old.obs, old.task_id) - old.action) ** 2).mean()
        return self.loss(params, agent, new, key) + old_valid * recall
