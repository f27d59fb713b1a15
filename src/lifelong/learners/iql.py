"""Implicit Q-Learning (Kostrikov, Nair and Levine, 2022): in-sample value learning, never
querying the critics on actions outside the dataset.

    V:     expectile regression of min_i Q'_i(s, a) on V(s): |tau - 1(u < 0)| u^2, u = Q' - V
    Q_i:   (Q_i(s, a) - r - gamma (1 - terminal) V(s'))^2
    actor: advantage-weighted regression, -exp(beta (Q'(s, a) - V(s))) log pi(a | s), the
           weight clipped at `max_weight`

Q' is the Polyak-averaged target of the twin critics; the actor is a tanh-Gaussian, its
greedy action tanh(mean).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.learners.distributions import TanhGaussian
from lifelong.learners.offline import Aux, Offline, OfflineConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.sac import polyak
from lifelong.learners.seams import AgentState


class IQLConfig(OfflineConfig):
    name: Literal["iql"] = "iql"
    expectile: float = Field(0.7, gt=0, lt=1, description="tau of the value's expectile.")
    beta: float = Field(3.0, gt=0, description="Inverse temperature of the actor's weights.")
    max_weight: float = Field(100.0, gt=0, description="Clip of the actor's weights.")
    tau: float = Field(0.005, gt=0, le=1, description="Polyak step of the target critics.")


class IQL(Offline):
    distribution: ClassVar[Any] = TanhGaussian()
    state_value: ClassVar[bool] = True
    config: IQLConfig

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        del key
        cfg, apply, task = self.config, self.spec.apply, rows.task_id
        target_q = jnp.minimum(*apply(agent.aux.target, rows.obs, task, rows.action))
        target_q = jax.lax.stop_gradient(target_q)
        value = apply(params, rows.obs, task, head="value")
        u = target_q - value
        value_loss = (jnp.abs(cfg.expectile - (u < 0)) * u**2).mean()

        next_value = jax.lax.stop_gradient(apply(params, rows.next_obs, task, head="value"))
        y = rows.reward + cfg.gamma * (1 - rows.terminated) * next_value
        q1, q2 = apply(params, rows.obs, task, rows.action)
        critic_loss = ((q1 - y) ** 2 + (q2 - y) ** 2).mean()

        weight = jnp.minimum(jnp.exp(cfg.beta * jax.lax.stop_gradient(u)), cfg.max_weight)
        head, _ = apply(params, rows.obs, task, with_value=False)
        actor_loss = -(weight * TanhGaussian.log_prob(head, rows.action)).mean()
        return value_loss + critic_loss + actor_loss

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        head, _ = self.spec.apply(params, obs, task_id, with_value=False)
        return TanhGaussian.mode(head) if greedy else TanhGaussian.sample(head, key)

    def update_target(self, aux: Aux, params) -> Aux:
        return aux._replace(target=polyak(aux.target, params, self.config.tau))
