"""TD3+BC (Fujimoto and Gu, 2021): TD3 with a behaviour-cloning term in the actor's loss.

The twin critics regress on y = r + gamma (1 - terminal) min_i Q'_i(s', a'), where a' is
the target actor's action plus clipped Gaussian noise (target policy smoothing). Every
`policy_delay` steps the deterministic actor pi(s) = tanh(mean(s)) minimizes

    -lambda Q_1(s, pi(s)) + mean (pi(s) - a)^2,   lambda = alpha / mean |Q_1(s, pi(s))|,

with the critics held fixed, and the target network moves `tau` towards the network. The
dataset's observations are used as they are (the paper normalizes them per dataset; a
continual learner would need one normalization for every task, so none is applied).
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


class TD3BCConfig(OfflineConfig):
    name: Literal["td3bc"] = "td3bc"
    alpha: float = Field(2.5, gt=0, description="Weight of the Q term against cloning.")
    tau: float = Field(0.005, gt=0, le=1, description="Polyak step of the target network.")
    policy_noise: float = Field(0.2, ge=0, description="Std of the target action's noise.")
    noise_clip: float = Field(0.5, ge=0, description="Bound of the target action's noise.")
    policy_delay: int = Field(2, ge=1, description="Critic steps per actor/target step.")


class TD3BC(Offline):
    distribution: ClassVar[Any] = TanhGaussian()
    config: TD3BCConfig

    def deterministic(self, params, obs: jax.Array, task_id: jax.Array,
                      head: str = "actor") -> jax.Array:
        (mean, _), _ = self.spec.apply(params, obs, task_id, with_value=False, head=head)
        return jnp.tanh(mean)

    def actor_step(self, agent: AgentState) -> jax.Array:
        """1.0 on the steps that update the actor (every `policy_delay`), else 0.0."""
        return (agent.aux.updates % self.config.policy_delay == 0).astype(jnp.float32)

    def critic_loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array,
                    head: str = "actor") -> jax.Array:
        """The twin critics' TD loss, target actions from the target network's `head`."""
        cfg, apply, task = self.config, self.spec.apply, rows.task_id
        noise = jnp.clip(cfg.policy_noise * jax.random.normal(key, rows.action.shape),
                         -cfg.noise_clip, cfg.noise_clip)
        next_action = jnp.clip(self.deterministic(agent.aux.target, rows.next_obs, task, head)
                               + noise, -1.0, 1.0)
        target_q1, target_q2 = apply(agent.aux.target, rows.next_obs, task, next_action)
        y = rows.reward + cfg.gamma * (1 - rows.terminated) * jnp.minimum(target_q1, target_q2)
        q1, q2 = apply(params, rows.obs, task, rows.action)
        y = jax.lax.stop_gradient(y)
        return ((q1 - y) ** 2 + (q2 - y) ** 2).mean()

    def actor_loss(self, params, rows: Transitions, head: str = "actor") -> jax.Array:
        """TD3+BC's actor loss for the actor `head`, the critics held fixed."""
        action = self.deterministic(params, rows.obs, rows.task_id, head)
        q, _ = self.spec.apply(jax.lax.stop_gradient(params), rows.obs, rows.task_id, action)
        lam = jax.lax.stop_gradient(self.config.alpha / jnp.maximum(jnp.abs(q).mean(), 1e-6))
        return -lam * q.mean() + ((action - rows.action) ** 2).mean()

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        return (self.critic_loss(params, agent, rows, key)
                + self.actor_step(agent) * self.actor_loss(params, rows))

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        del key, greedy  # a deterministic policy
        return self.deterministic(params, obs, task_id)

    def update_target(self, aux: Aux, params) -> Aux:
        moved = polyak(aux.target, params, self.config.tau)
        now = aux.updates % self.config.policy_delay == 0
        return aux._replace(target=jax.tree.map(lambda m, t: jnp.where(now, m, t), moved,
                                                aux.target))
