"""DQN (Mnih et al., 2015) with double-Q targets (van Hasselt et al., 2016).

The online network picks the next action and the target network values it:
    y = r + gamma (1 - terminal) Q'(s', argmax_a Q(s', a)),
regressed with the Huber loss. The target network is moved to the online one every
`target_every` gradient steps (`tau` = 1: a copy). Exploration is epsilon-greedy, epsilon
decaying linearly from `epsilon_start` to `epsilon_end` over the first `epsilon_fraction`
of every task (a new task is explored afresh).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
import optax
from pydantic import Field

from lifelong.errors import ConfigError
from lifelong.learners.distributions import Categorical
from lifelong.learners.networks import QNetwork
from lifelong.learners.offpolicy import Aux, OffPolicy, OffPolicyConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.sac import polyak
from lifelong.learners.seams import AgentState


class DQNConfig(OffPolicyConfig):
    """DQN hyperparameters (defaults near PureJaxRL's CartPole DQN)."""

    name: Literal["dqn"] = "dqn"
    num_envs: int = Field(8, ge=1)
    buffer_size: int = Field(50_000, ge=1)
    batch_size: int = Field(128, ge=1)
    learning_starts: int = Field(1000, ge=1)
    random_steps: int = Field(0, ge=0)
    train_every: int = Field(2, ge=1)
    lr: float = Field(5e-4, gt=0)
    max_grad_norm: float | None = Field(10.0, gt=0)
    hidden: list[int] = Field([64, 64], min_length=1)
    target_every: int = Field(250, ge=1, description="Gradient steps between target updates.")
    tau: float = Field(1.0, gt=0, le=1, description="Target update step (1: copy).")
    epsilon_start: float = Field(1.0, ge=0, le=1)
    epsilon_end: float = Field(0.05, ge=0, le=1)
    epsilon_fraction: float = Field(0.25, gt=0, le=1, description="Fraction of each task "
                                    "over which epsilon decays.")
    eval_epsilon: float = Field(0.0, ge=0, le=1, description="Epsilon of non-greedy "
                                "evaluation.")


def epsilon_greedy(q: jax.Array, epsilon: jax.Array, key: jax.Array) -> jax.Array:
    key_explore, key_action = jax.random.split(key)
    explore = jax.random.uniform(key_explore, q.shape[:1]) < epsilon
    random = jax.random.randint(key_action, q.shape[:1], 0, q.shape[-1])
    return jnp.where(explore, random, jnp.argmax(q, axis=-1))


class DQN(OffPolicy):
    distribution: ClassVar[Any] = Categorical()
    config: DQNConfig

    @classmethod
    def make_network(cls, config: DQNConfig, task_env) -> QNetwork:
        if not task_env.discrete:
            raise ConfigError("learner.name", f"dqn needs discrete actions, but "
                              f"{task_env.name!r} has continuous ones; use sac or ppo")
        return QNetwork(task_env.action_dim, tuple(config.hidden), config.activation)

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        del key
        apply, task = self.spec.apply, rows.task_id
        q, _ = apply(params, rows.obs, task)
        next_online, _ = apply(params, rows.next_obs, task)
        next_target, _ = apply(agent.aux.target, rows.next_obs, task)
        best = jnp.argmax(next_online, axis=-1)
        next_value = jnp.take_along_axis(next_target, best[:, None], -1)[:, 0]
        y = rows.reward + self.config.gamma * (1 - rows.terminated) * next_value
        chosen = jnp.take_along_axis(q, rows.action[:, None].astype(jnp.int32), -1)[:, 0]
        return optax.huber_loss(chosen, jax.lax.stop_gradient(y)).mean()

    def epsilon(self, task_step: jax.Array) -> jax.Array:
        cfg = self.config
        decay_steps = max(1.0, cfg.epsilon_fraction * self.steps_per_task)
        progress = jnp.minimum(task_step / decay_steps, 1.0)
        return cfg.epsilon_start + progress * (cfg.epsilon_end - cfg.epsilon_start)

    def explore(self, params, obs, task_id, task_step, key):
        q, _ = self.spec.apply(params, obs, task_id)
        return epsilon_greedy(q, self.epsilon(task_step), key)

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        q, _ = self.spec.apply(params, obs, task_id)
        return epsilon_greedy(q, 0.0 if greedy else self.config.eval_epsilon, key)

    def update_target(self, aux: Aux, params) -> Aux:
        due = aux.updates % self.config.target_every == 0
        moved = polyak(aux.target, params, self.config.tau)
        return aux._replace(target=jax.tree.map(lambda m, t: jnp.where(due, m, t), moved,
                                                aux.target))
