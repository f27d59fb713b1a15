"""The gymnax MinAtar games as one stream.

Observations are padded to the largest channel count (the 10x10 grid stays aligned) and
flattened; the action space is MinAtar's full set of six actions, and each game maps the
actions it lacks to its no-op.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
import numpy as np
from pydantic import Field

from lifelong.envs.task_env import identity_params, make_task_env, traced_env_params
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task

Game = Literal["Breakout", "SpaceInvaders", "Asterix", "Freeway"]
FULL_ACTION_SET = 6  # MinAtar's no-op, left, up, right, down, fire
GRID, MAX_CHANNELS = 10 * 10, 7


class MinAtarOptions(ScenarioOptions):
    games: list[Game] = Field(
        ["Breakout", "SpaceInvaders", "Asterix", "Freeway"], min_length=1,
        description="MinAtar games in stream order.",
    )


def _padded_obs_index(channels: int) -> np.ndarray:
    """Index of padded cell (pos, c) in a flat [10, 10, channels] grid; raw size = zero."""
    position, channel = np.divmod(np.arange(GRID * MAX_CHANNELS), MAX_CHANNELS)
    return np.where(channel < channels, position * channels + channel, GRID * channels)


def _action_map(action_set: np.ndarray) -> np.ndarray:
    """Full-set action -> the game's own action index (missing actions become no-op 0)."""
    mapping = np.zeros(FULL_ACTION_SET, np.int32)
    for own_index, full_action in enumerate(np.asarray(action_set)):
        mapping[int(full_action)] = own_index
    return mapping


@register_scenario("minatar", MinAtarOptions, "MinAtar games (gymnax), padded to one spec.")
def build(options: MinAtarOptions) -> list[Task]:
    tasks = []
    for i, game in enumerate(options.games):
        task_env = make_task_env(
            f"{game}-MinAtar", obs_dim=GRID * MAX_CHANNELS, action_dim=FULL_ACTION_SET
        )
        channels = task_env.raw_obs_size // GRID
        params = identity_params(task_env, traced_env_params(task_env.env.default_params), i)
        params = params.replace(
            obs_index=jnp.asarray(_padded_obs_index(channels), jnp.int32),
            action_map=jnp.asarray(_action_map(task_env.env.action_set), jnp.int32),
        )
        tasks.append(Task(name=game.lower(), env=task_env, params=params))
    return tasks
