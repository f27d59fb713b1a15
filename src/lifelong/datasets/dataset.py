"""`Dataset`: the transitions of an offline task, grouped in whole episodes, in host memory.

Rows are transitions (obs, action, reward, next obs, terminated, truncated) in episode
order: an episode is a run of rows that ends at a row with `terminated` or `truncated` set,
and within an episode a row's `next_obs` is the next row's `obs`. That is exactly what a
Minari episode holds (T + 1 observations, T actions, rewards and flags), so the two convert
both ways without loss (`datasets.minari_store`). Actions are in the agent's form: an index
for discrete actions, a vector in [-1, 1] (the env's bounds, normalized) for continuous ones.

`ref_min_score` and `ref_max_score` are the mean episode returns of a random and of an
expert policy; a return's normalized score is (R - min) / (max - min), as Minari's
`get_normalized_score` (D4RL's convention).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lifelong.learners.replay import Transitions

QUALITIES = ("random", "medium", "expert", "medium-replay")


@dataclass(frozen=True, eq=False)
class Dataset:
    """An offline task's data; `task` describes the env it was collected on (for evaluation)."""

    obs: np.ndarray  # [N, obs_dim] float32
    action: np.ndarray  # [N] int32 or [N, action_dim] float32 in [-1, 1]
    reward: np.ndarray  # [N] float32
    next_obs: np.ndarray  # [N, obs_dim] float32
    terminated: np.ndarray  # [N] bool
    truncated: np.ndarray  # [N] bool; an episode ends where either flag is set
    ref_min_score: float
    ref_max_score: float
    task: dict[str, Any] = field(default_factory=dict)  # how to rebuild the env (see scenarios)

    def __post_init__(self):
        n = self.reward.shape[0]
        for name in ("obs", "action", "next_obs", "terminated", "truncated"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"dataset field {name!r} has {getattr(self, name).shape[0]} "
                                 f"rows, reward has {n}")
        if n == 0:
            raise ValueError("a dataset needs at least one transition")
        if not (self.terminated[-1] or self.truncated[-1]):
            raise ValueError("the last transition must end an episode (terminated or truncated)")

    def __len__(self) -> int:
        return self.reward.shape[0]

    @property
    def obs_dim(self) -> int:
        return self.obs.shape[1]

    @property
    def discrete(self) -> bool:
        return self.action.ndim == 1

    def episode_ends(self) -> np.ndarray:
        """[episodes] index one past the last row of each episode."""
        return np.flatnonzero(self.terminated | self.truncated) + 1

    def episode_returns(self) -> np.ndarray:
        """[episodes] undiscounted return of each episode."""
        ends = self.episode_ends()
        return np.add.reduceat(self.reward, np.concatenate([[0], ends[:-1]]))

    def normalized(self, returns: np.ndarray) -> np.ndarray:
        """Returns as normalized scores: 0 at the random policy, 1 at the expert."""
        span = self.ref_max_score - self.ref_min_score
        return (np.asarray(returns) - self.ref_min_score) / (span if abs(span) > 1e-8 else 1.0)

    def transitions(self, task_id: int) -> Transitions:
        """The rows as the learners' `Transitions` (numpy; put on the device by the caller)."""
        action = (self.action.astype(np.int32) if self.discrete
                  else self.action.astype(np.float32))
        return Transitions(self.obs.astype(np.float32), action, self.reward.astype(np.float32),
                           self.next_obs.astype(np.float32),
                           self.terminated.astype(np.float32),
                           np.full(len(self), task_id, np.int32))

    def successors(self) -> np.ndarray:
        """[N] the row that follows each row in its episode, -1 for an episode's last row."""
        following = np.arange(1, len(self) + 1)
        return np.where(self.terminated | self.truncated, -1, following)

    def fingerprint(self) -> str:
        """Content hash of the data and its reference scores."""
        digest = hashlib.sha256()
        for array in (self.obs, self.action, self.reward, self.next_obs, self.terminated,
                      self.truncated):
            digest.update(str(array.dtype).encode() + np.ascontiguousarray(array).tobytes())
        digest.update(f"{self.ref_min_score!r}:{self.ref_max_score!r}".encode())
        return digest.hexdigest()[:16]


def from_episodes(episodes: list[dict[str, np.ndarray]], ref_min_score: float,
                  ref_max_score: float, task: dict[str, Any] | None = None) -> Dataset:
    """A dataset from Minari-shaped episodes: `observations` [T + 1, ...], `actions`,
    `rewards`, `terminations`, `truncations` [T]."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "action", "reward", "next_obs",
                                                          "terminated", "truncated")}
    for episode in episodes:
        observations = np.asarray(episode["observations"], np.float32)
        steps = len(episode["rewards"])
        parts["obs"].append(observations[:steps].reshape(steps, -1))
        parts["next_obs"].append(observations[1:steps + 1].reshape(steps, -1))
        parts["action"].append(np.asarray(episode["actions"]))
        parts["reward"].append(np.asarray(episode["rewards"], np.float32))
        terminated = np.asarray(episode["terminations"], bool)
        truncated = np.asarray(episode["truncations"], bool).copy()
        truncated[-1] |= not terminated[-1]  # a cut-off episode still ends here
        parts["terminated"].append(terminated)
        parts["truncated"].append(truncated)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    return Dataset(**arrays, ref_min_score=float(ref_min_score),
                   ref_max_score=float(ref_max_score), task=dict(task or {}))


def to_episodes(dataset: Dataset) -> list[dict[str, np.ndarray]]:
    """The inverse of `from_episodes`."""
    episodes, start = [], 0
    for end in dataset.episode_ends():
        rows = slice(start, end)
        episodes.append({
            "observations": np.concatenate([dataset.obs[rows], dataset.next_obs[end - 1:end]]),
            "actions": dataset.action[rows],
            "rewards": dataset.reward[rows],
            "terminations": dataset.terminated[rows],
            "truncations": dataset.truncated[rows],
        })
        start = end
    return episodes
