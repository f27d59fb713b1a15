"""Soft Actor-Critic (Haarnoja et al., 2018): twin Q critics with a Polyak-averaged target,
a tanh-Gaussian actor and automatic entropy tuning, one temperature per output head.

One loss trains all three at once (their parameters are disjoint, and Adam is per
parameter, so this equals three optimizers): the critics regress on
    y = r + gamma (1 - terminal) (min_i Q'_i(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s'),
the actor minimizes alpha log pi(a|s) - min_i Q_i(s, a) with a ~ pi(.|s) reparameterized
(the critics held fixed), and log alpha minimizes -log alpha (log pi(a|s) + target entropy).
Continual World's network is `hidden: [256, 256, 256, 256]`, `activation: leaky_relu`,
`first_layer_norm: true` with the `multihead` component.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.errors import ConfigError
from lifelong.learners.distributions import TanhGaussian
from lifelong.learners.networks import SACNetwork
from lifelong.learners.offpolicy import Aux, OffPolicy, OffPolicyConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState


class SACConfig(OffPolicyConfig):
    """SAC hyperparameters (defaults: Continual World's, except the 2x256 network)."""

    name: Literal["sac"] = "sac"
    tau: float = Field(0.005, gt=0, le=1, description="Polyak step of the target critics.")
    target_entropy: float | None = Field(None, description="Entropy target of the temperature "
                                         "(null: -action_dim).")
    first_layer_norm: bool = Field(False, description="LayerNorm and tanh after the first "
                                   "hidden layer (Continual World's networks).")


def polyak(target, params, tau: float):
    """Target variables moved `tau` towards the network's `params` collection; every other
    collection (e.g. packnet's owner table) is copied, never averaged."""
    moved = jax.tree.map(lambda t, p: (1 - tau) * t + tau * p, target["params"],
                         params["params"])
    return {**params, "params": moved}


class SAC(OffPolicy):
    distribution: ClassVar[Any] = TanhGaussian()
    config: SACConfig

    @classmethod
    def make_network(cls, config: SACConfig, task_env) -> SACNetwork:
        if task_env.discrete:
            raise ConfigError("learner.name", f"sac needs continuous actions, but "
                              f"{task_env.name!r} has discrete ones; use dqn or ppo")
        return SACNetwork(task_env.action_dim, tuple(config.hidden), config.activation,
                          first_layer_norm=config.first_layer_norm)

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        cfg, apply, task = self.config, self.spec.apply, rows.task_id
        key_next, key_pi = jax.random.split(key)
        target_entropy = (-float(self.spec.action_dim) if cfg.target_entropy is None
                          else cfg.target_entropy)
        q1, q2, log_alpha = apply(params, rows.obs, task, rows.action)
        alpha = jax.lax.stop_gradient(jnp.exp(log_alpha))

        next_head, _ = apply(params, rows.next_obs, task, with_value=False)
        next_action, next_log_prob = TanhGaussian.sample_with_log_prob(next_head, key_next)
        target_q1, target_q2, _ = apply(agent.aux.target, rows.next_obs, task, next_action)
        soft_value = jnp.minimum(target_q1, target_q2) - alpha * next_log_prob
        y = jax.lax.stop_gradient(rows.reward + cfg.gamma * (1 - rows.terminated) * soft_value)
        critic_loss = 0.5 * ((q1 - y) ** 2 + (q2 - y) ** 2).mean()

        head, _ = apply(params, rows.obs, task, with_value=False)
        action, log_prob = TanhGaussian.sample_with_log_prob(head, key_pi)
        pi_q1, pi_q2, _ = apply(jax.lax.stop_gradient(params), rows.obs, task, action)
        actor_loss = (alpha * log_prob - jnp.minimum(pi_q1, pi_q2)).mean()
        alpha_loss = -(log_alpha * jax.lax.stop_gradient(log_prob + target_entropy)).mean()
        return critic_loss + actor_loss + alpha_loss

    def explore(self, params, obs, task_id, task_step, key):
        del task_step
        head, _ = self.spec.apply(params, obs, task_id, with_value=False)
        return TanhGaussian.sample(head, key)

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        head, _ = self.spec.apply(params, obs, task_id, with_value=False)
        return TanhGaussian.mode(head) if greedy else TanhGaussian.sample(head, key)

    def update_target(self, aux: Aux, params) -> Aux:
        return aux._replace(target=polyak(aux.target, params, self.config.tau))
