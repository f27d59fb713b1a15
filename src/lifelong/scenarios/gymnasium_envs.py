"""Any registered Gymnasium envs as one stream of host-stepped tasks.

One task per entry: a Gymnasium id with constructor arguments, e.g. Pendulum-v1 under
different gravities. Observations are zero-padded to the largest observation of the stream;
actions are not remapped, so every entry must have the same action space.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lifelong.envs.host_env import host_params, make_host_env
from lifelong.errors import ConfigError
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task


class GymnasiumEnv(BaseModel):
    """One task: a registered Gymnasium env and the arguments of `gymnasium.make`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="A registered Gymnasium id, e.g. Pendulum-v1.")
    kwargs: dict[str, Any] = Field({}, description="Constructor arguments of the env.")
    name: str | None = Field(None, description="Task name (default: id[key=value,...]).")
    max_episode_steps: int | None = Field(
        None, ge=1, description="Episode step limit (default: the env's registered one)."
    )

    def task_name(self) -> str:
        if self.name:
            return self.name
        label = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.id}[{label}]" if label else self.id


class GymnasiumOptions(ScenarioOptions):
    envs: list[GymnasiumEnv] = Field(
        [GymnasiumEnv(id="Pendulum-v1"), GymnasiumEnv(id="Pendulum-v1", kwargs={"g": 4.0}),
         GymnasiumEnv(id="Pendulum-v1", kwargs={"g": 16.0})],
        min_length=1, description="The tasks in stream order.",
    )


@register_scenario(
    "gymnasium", GymnasiumOptions, "Any Gymnasium envs with per-task kwargs, stepped on the host."
)
def build(options: GymnasiumOptions) -> list[Task]:
    envs = [
        make_host_env(entry.id, entry.kwargs, max_episode_steps=entry.max_episode_steps,
                      field=f"scenario.envs.{i}")
        for i, entry in enumerate(options.envs)
    ]
    names = [entry.task_name() for entry in options.envs]
    first = envs[0]
    for i, env in enumerate(envs):
        if names.index(names[i]) != i:
            raise ConfigError(f"scenario.envs.{i}.name", f"task name {names[i]!r} is taken; "
                              "give each task its own name")
        if (env.discrete, env.action_dim) != (first.discrete, first.action_dim):
            raise ConfigError(f"scenario.envs.{i}.id", f"{env.name} acts in another action "
                              f"space than {first.name}; the tasks of a stream share one")
    obs_dim = max(env.obs_dim for env in envs)
    tasks = []
    for i, (name, env) in enumerate(zip(names, envs)):
        padded = replace(env, obs_dim=obs_dim)
        tasks.append(Task(name=name, env=padded, params=host_params(padded, i)))
    return tasks
