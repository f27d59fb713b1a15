"""Base learners. A learner is registered with its options model and a one-line description."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

# The components import the learners' networks: load them first, so neither sees the other
# half-initialized whichever is imported first.
import lifelong.components  # noqa: F401
from lifelong.learners.dqn import DQN, DQNConfig
from lifelong.learners.ppo import PPO, PPOConfig
from lifelong.learners.sac import SAC, SACConfig
from lifelong.learners.seams import AgentState


@dataclass(frozen=True)
class LearnerEntry:
    name: str
    options: type[BaseModel]
    learner: type
    description: str


LEARNERS: dict[str, LearnerEntry] = {
    "ppo": LearnerEntry("ppo", PPOConfig, PPO,
                        "Proximal Policy Optimization, discrete and continuous actions."),
    "sac": LearnerEntry("sac", SACConfig, SAC,
                        "Soft Actor-Critic with twin critics and entropy tuning; continuous "
                        "actions, gymnax or Gymnasium envs."),
    "dqn": LearnerEntry("dqn", DQNConfig, DQN,
                        "Double DQN with a target network; discrete actions, gymnax or "
                        "Gymnasium envs."),
}

__all__ = ["DQN", "LEARNERS", "PPO", "SAC", "AgentState", "DQNConfig", "LearnerEntry",
           "PPOConfig", "SACConfig"]
