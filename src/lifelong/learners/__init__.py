"""Base learners. A learner is registered with its options model and a one-line description."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from lifelong.learners.ppo import PPO, AgentState, PPOConfig


@dataclass(frozen=True)
class LearnerEntry:
    name: str
    options: type[BaseModel]
    learner: type
    description: str


LEARNERS: dict[str, LearnerEntry] = {
    "ppo": LearnerEntry("ppo", PPOConfig, PPO,
                        "Proximal Policy Optimization, discrete and continuous actions."),
}

__all__ = ["LEARNERS", "PPO", "AgentState", "LearnerEntry", "PPOConfig"]
