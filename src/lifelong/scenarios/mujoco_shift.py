"""One Gymnasium MuJoCo env under a stream of physics and objective shifts.

The default is a 4-task HalfCheetah stream mixing the shift kinds: a heavier torso,
slippery ground, running at a target velocity (reward -|x_velocity - 1.5|, the
HalfCheetah-Vel task of the meta- and offline continual-RL literature) and running
backward (HalfCheetah-Dir). Physics shifts change what an action does; objective shifts
change what is rewarded for the same dynamics, and running backward directly contradicts
the other tasks, so fine-tuning forgets.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lifelong.envs.host_env import MUJOCO_FIX, host_env_from_factory, host_params
from lifelong.envs.mujoco_shift import make_shifted_env
from lifelong.errors import ConfigError
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task


class Shift(BaseModel):
    """One task: the shifts applied to the env (any combination; unset ones are off)."""

    model_config = ConfigDict(extra="forbid")

    mass_scale: float = Field(1.0, gt=0, description="Scale of body masses (and inertias).")
    mass_body: str | None = Field(None, description="The body to scale, e.g. torso (all).")
    gravity_scale: float = Field(1.0, description="Scale of gravity.")
    friction_scale: float = Field(1.0, ge=0, description="Scale of all geom frictions.")
    target_velocity: float | None = Field(
        None, description="Reward -|x_velocity - target| instead of forward progress."
    )
    direction: Literal[1, -1] = Field(1, description="-1 rewards running backward.")

    @model_validator(mode="after")
    def _one_objective(self) -> Shift:
        if self.target_velocity is not None and self.direction != 1:
            raise ValueError("give target_velocity or direction, not both")
        return self

    def changes(self) -> dict:
        """The fields that differ from the unshifted env, in declaration order."""
        return self.model_dump(exclude_defaults=True)


class MujocoShiftOptions(ScenarioOptions):
    env: str = Field("HalfCheetah-v5", description="A Gymnasium MuJoCo env id.")
    shifts: list[Shift] = Field(
        [Shift(mass_scale=1.5, mass_body="torso"), Shift(friction_scale=0.4),
         Shift(target_velocity=1.5), Shift(direction=-1)],
        min_length=1, description="One entry per task, in stream order.",
    )

    @field_validator("env")
    @classmethod
    def _registered(cls, env: str) -> str:
        if env not in gym.registry:
            raise ValueError(f"unknown Gymnasium env {env!r}; e.g. HalfCheetah-v5, Hopper-v5")
        return env


def _check_env(options: MujocoShiftOptions) -> None:
    """Stops with the field and the fix when the env is not a MuJoCo env a shift can edit."""
    try:
        probe = gym.make(options.env, disable_env_checker=True)
    except gym.error.DependencyNotInstalled:
        raise ConfigError("scenario.env", f"{options.env} needs MuJoCo; {MUJOCO_FIX}") from None
    try:
        model = getattr(probe.unwrapped, "model", None)
        if model is None:
            raise ConfigError("scenario.env", f"{options.env} is not a MuJoCo env; choose "
                              "e.g. HalfCheetah-v5")
        bodies = [model.body(i).name for i in range(model.nbody)]
        probe.reset(seed=0)
        info = probe.step(probe.action_space.sample())[-1]
    finally:
        probe.close()
    for i, shift in enumerate(options.shifts):
        if shift in options.shifts[:i]:
            raise ConfigError(f"scenario.shifts.{i}", "repeats an earlier task; use cycles "
                              "to revisit tasks")
        if shift.mass_body is not None and shift.mass_body not in bodies:
            raise ConfigError(f"scenario.shifts.{i}.mass_body", f"{options.env} has no body "
                              f"{shift.mass_body!r}; choose from {bodies}")
        objective = shift.target_velocity is not None or shift.direction != 1
        if objective and not {"x_velocity", "reward_forward"} <= info.keys():
            raise ConfigError(f"scenario.shifts.{i}", f"{options.env} reports no "
                              "x_velocity/reward_forward; objective shifts need a v5 "
                              "locomotion env")


@register_scenario(
    "mujoco-shift", MujocoShiftOptions,
    "A Gymnasium MuJoCo env under mass/gravity/friction/target-velocity/direction shifts.",
)
def build(options: MujocoShiftOptions) -> list[Task]:
    _check_env(options)
    tasks = []
    for i, shift in enumerate(options.shifts):
        changes = shift.changes()
        env = host_env_from_factory(
            f"{options.env}{changes}" if changes else options.env,
            partial(make_shifted_env, options.env, **changes), f"scenario.shifts.{i}",
        )
        label = ",".join(f"{k}={v}" for k, v in changes.items()) or "default"
        tasks.append(Task(name=f"{options.env}[{label}]", env=env, params=host_params(env, i)))
    return tasks
