"""Task streams. Importing this package registers the built-in scenarios."""

from lifelong.scenarios import (  # noqa: F401
    cartpole_permuted,
    continual_world,
    gymnasium_envs,
    gymnax_params,
    minatar,
    mujoco_shift,
    offline,
)
from lifelong.scenarios.registry import SCENARIOS, ScenarioOptions, make_scenario, register_scenario
from lifelong.scenarios.task import Scenario, Task

__all__ = ["SCENARIOS", "Scenario", "ScenarioOptions", "Task", "make_scenario", "register_scenario"]
