"""Behaviour cloning: the deterministic actor pi(s) = tanh(mean(s)) regresses on the
dataset's actions, mean (pi(s) - a)^2. The simplest offline learner, and the lower bound the
value-based ones are measured against."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp

from lifelong.learners.distributions import TanhGaussian
from lifelong.learners.offline import Offline, OfflineConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState


class BCConfig(OfflineConfig):
    name: Literal["bc"] = "bc"


class BC(Offline):
    distribution: ClassVar[Any] = TanhGaussian()
    config: BCConfig

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        del agent, key
        return ((self.act(params, rows.obs, rows.task_id, None) - rows.action) ** 2).mean()

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array | None,
            greedy: bool = False) -> jax.Array:
        del key, greedy  # a deterministic policy
        (mean, _), _ = self.spec.apply(params, obs, task_id, with_value=False)
        return jnp.tanh(mean)
