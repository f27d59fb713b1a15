"""Base learners. A learner is registered with its options model and a one-line description."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

# The components import the learners' networks: load them first, so neither sees the other
# half-initialized whichever is imported first.
import lifelong.components  # noqa: F401
from lifelong.learners.bc import BC, BCConfig
from lifelong.learners.dqn import DQN, DQNConfig
from lifelong.learners.iql import IQL, IQLConfig
from lifelong.learners.oer import OER, OERConfig
from lifelong.learners.ppo import PPO, PPOConfig
from lifelong.learners.sac import SAC, SACConfig
from lifelong.learners.seams import AgentState
from lifelong.learners.td3bc import TD3BC, TD3BCConfig


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
    "bc": LearnerEntry("bc", BCConfig, BC, "Behaviour cloning on offline datasets; continuous "
                       "actions."),
    "td3bc": LearnerEntry("td3bc", TD3BCConfig, TD3BC,
                          "TD3+BC on offline datasets; optional rehearsal memory "
                          "(replay_per_task) chosen at random or by MBES."),
    "iql": LearnerEntry("iql", IQLConfig, IQL,
                        "Implicit Q-Learning on offline datasets; continuous actions."),
    "oer": LearnerEntry("oer", OERConfig, OER,
                        "Offline Experience Replay: TD3+BC with model-based experience "
                        "selection and dual behaviour cloning (continual offline RL)."),
}

__all__ = ["BC", "DQN", "IQL", "LEARNERS", "OER", "PPO", "SAC", "TD3BC", "AgentState",
           "BCConfig", "DQNConfig", "IQLConfig", "LearnerEntry", "OERConfig", "PPOConfig",
           "SACConfig", "TD3BCConfig"]
