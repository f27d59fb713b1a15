"""Scenario registry: name -> options model + builder, and the assembly of a `Scenario`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import jax.numpy as jnp
from pydantic import BaseModel, ConfigDict, Field

from lifelong.errors import ConfigError
from lifelong.scenarios.task import Scenario, Task


class ScenarioOptions(BaseModel):
    """Options every scenario accepts; builders add their own fields."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cycles: int = Field(1, ge=1, description="Repeat the task sequence this many times.")
    task_id_visible: bool = Field(True, description="Whether the agent is told the task id.")
    boundaries_visible: bool = Field(True, description="Whether the agent sees task changes.")
    eval_tasks: list[str] | None = Field(None, description="Task names to evaluate (all).")


@dataclass(frozen=True)
class ScenarioEntry:
    name: str
    options: type[ScenarioOptions]
    build: Callable[[ScenarioOptions], list[Task]]
    description: str


SCENARIOS: dict[str, ScenarioEntry] = {}


def register_scenario(name: str, options: type[ScenarioOptions], description: str):
    """Decorator registering `build(options) -> list[Task]` under `name`."""

    def decorate(build: Callable[[ScenarioOptions], list[Task]]):
        SCENARIOS[name] = ScenarioEntry(name, options, build, description)
        return build

    return decorate


def make_scenario(options: ScenarioOptions) -> Scenario:
    """Builds the tasks, repeats them `cycles` times and applies the visibility flags.

    This is the one place where a hidden task identity is enforced: every task then
    reports task id 0 to the agent.
    """
    tasks = SCENARIOS[options.name].build(options)
    if not tasks:
        raise ConfigError("scenario", "the scenario has zero tasks; give it at least one task")
    if not options.task_id_visible:
        tasks = [replace(t, params=t.params.replace(task_id=jnp.int32(0))) for t in tasks]
    names = [t.name for t in tasks]
    if options.eval_tasks is None:
        eval_tasks = tuple(range(len(tasks)))
    else:
        unknown = [n for n in options.eval_tasks if n not in names]
        if unknown:
            raise ConfigError(
                "scenario.eval_tasks", f"unknown task {unknown[0]!r}; choose from {names}"
            )
        eval_tasks = tuple(names.index(n) for n in options.eval_tasks)
    return Scenario(
        name=options.name,
        tasks=tuple(tasks),
        stream=tuple(range(len(tasks))) * options.cycles,
        eval_tasks=eval_tasks,
        task_id_visible=options.task_id_visible,
        boundaries_visible=options.boundaries_visible,
    )
