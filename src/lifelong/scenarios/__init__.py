"""Task streams. Importing this package registers the built-in scenarios."""

from lifelong.scenarios import cartpole_permuted, gymnax_params, minatar  # noqa: F401
from lifelong.scenarios.registry import SCENARIOS, ScenarioOptions, make_scenario, register_scenario
from lifelong.scenarios.task import Scenario, Task

__all__ = ["SCENARIOS", "Scenario", "ScenarioOptions", "Task", "make_scenario", "register_scenario"]
