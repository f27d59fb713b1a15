"""Meta-World v3 tasks under Continual World's protocol, as host envs.

Continual World ("random_init_all") resamples the goal and object positions of a task at
every reset from that task's Meta-World training configurations, ends episodes after 200
steps, and scores a task by Meta-World's `success` flag. metaworld 3.x builds exactly this
with `gymnasium.make("Meta-World/MT1", env_name=...)`: `metaworld.MT1(env_name, seed)`
draws 50 configurations (np.random seeded with `seed`), and a `RandomTaskSelectWrapper`
sets one of them, chosen with the env's own `np_random`, before every reset. We keep the
configuration set fixed (`GOAL_SEED`) so it is part of the task's definition; Continual
World drew its sets from MT50 with seed 1, which metaworld 3 no longer reproduces.

Two details of metaworld 3.1.1 that `MetaWorldTask` fixes:
- `reset(seed=...)` ignores its seed (the env is seeded only by its constructor), so every
  copy of a vector env would draw the same configurations in lockstep. The wrapper seeds
  the env's generator, which the configuration choice uses, on a seeded reset.
- Observations are float64 and outside the declared observation space (its goal bounds
  are those of the goal-hidden variant); the wrapper returns float32 in an unbounded Box.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.envs.host_env import HostEnv

EPISODE_STEPS = 200
GOAL_SEED = 0
OBS_DIM, ACTION_DIM = 39, 4


class MetaWorldTask(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Seeded configuration sampling and float32 observations for a Meta-World MT1 env."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        shape = env.observation_space.shape
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self.env.unwrapped.seed(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        return obs.astype(np.float32), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs.astype(np.float32), float(reward), terminated, truncated, info


def make_meta_world_env(env_name: str) -> gym.Env:
    """One Meta-World v3 task (e.g. "hammer-v3") under Continual World's protocol."""
    import metaworld  # noqa: F401  (registers the Meta-World/* ids)

    env = gym.make("Meta-World/MT1", env_name=env_name, seed=GOAL_SEED,
                   max_episode_steps=EPISODE_STEPS, disable_env_checker=True)
    return MetaWorldTask(env)


def meta_world_host_env(env_name: str) -> HostEnv:
    """The `HostEnv` of one Meta-World v3 task.

    Its spec is Meta-World's own (39 observations, 4 actions in [-1, 1]), written out
    rather than read from a probe env, which would cost a second per task (drawing the
    50 configurations runs 50 resets).
    """
    kwargs = {"env_name": env_name, "seed": GOAL_SEED, "max_episode_steps": EPISODE_STEPS}
    return HostEnv(
        name=f"Meta-World/MT1{kwargs}",
        factory=partial(make_meta_world_env, env_name),
        obs_dim=OBS_DIM,
        action_dim=ACTION_DIM,
        discrete=False,
        max_episode_steps=EPISODE_STEPS,
        action_low=-np.ones(ACTION_DIM, np.float32),
        action_high=np.ones(ACTION_DIM, np.float32),
        success=True,
    )
