"""One gymnax environment, one task per set of `EnvParams` overrides (physics changes)."""

from __future__ import annotations

from typing import Any

import gymnax
from pydantic import Field, field_validator

from lifelong.envs.task_env import identity_params, make_task_env, traced_env_params
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task

# Params that gymnax derives from others once, at construction, and never recomputes.
DERIVED_PARAMS = {
    "CartPole-v1": {
        "total_mass": lambda p: p.masscart + p.masspole,
        "polemass_length": lambda p: p.masspole * p.length,
    },
}


class GymnaxParamsOptions(ScenarioOptions):
    env_id: str = Field("CartPole-v1", description="A registered gymnax environment id.")
    tasks: list[dict[str, float]] = Field(
        [{"gravity": 9.8}, {"gravity": 3.0}, {"length": 1.5}, {"length": 0.25}],
        description="EnvParams overrides, one dict per task.",
    )

    @field_validator("env_id")
    @classmethod
    def _known_env(cls, env_id: str) -> str:
        if env_id not in gymnax.registered_envs:
            raise ValueError(f"unknown gymnax env {env_id!r}; see gymnax.registered_envs")
        return env_id


def _override(env_id: str, default: Any, overrides: dict[str, float]) -> Any:
    unknown = sorted(set(overrides) - set(default.__dataclass_fields__))
    if unknown:
        from lifelong.errors import ConfigError

        raise ConfigError(
            "scenario.tasks",
            f"{env_id} has no parameter {unknown[0]!r}; "
            f"choose from {sorted(default.__dataclass_fields__)}",
        )
    params = default.replace(**overrides)
    derived = {
        name: rule(params)
        for name, rule in DERIVED_PARAMS.get(env_id, {}).items()
        if name not in overrides
    }
    return params.replace(**derived)


@register_scenario(
    "gymnax-params", GymnaxParamsOptions, "Any gymnax env with per-task EnvParams overrides."
)
def build(options: GymnaxParamsOptions) -> list[Task]:
    task_env = make_task_env(options.env_id)
    default = task_env.env.default_params
    tasks = []
    for i, overrides in enumerate(options.tasks):
        env_params = traced_env_params(_override(options.env_id, default, overrides))
        label = ",".join(f"{k}={v:g}" for k, v in overrides.items()) or "default"
        params = identity_params(task_env, env_params, task_id=i)
        tasks.append(Task(name=f"{options.env_id}[{label}]", env=task_env, params=params))
    return tasks
