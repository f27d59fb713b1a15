"""Gymnasium MuJoCo envs with shifted physics or a shifted objective.

Physics shifts edit the env's compiled model (`env.unwrapped.model`) once, at construction:
MuJoCo reads masses, gravity and friction from it at every step, and `reset` restores only
the state (positions, velocities), so a change lasts for the env's life. Objective shifts
replace the forward-progress term of the reward, which the v5 envs report as
info["reward_forward"] (forward_reward_weight * x_velocity) beside info["x_velocity"]; the
control, contact and survival terms stay as the env computes them.

Each wrapper records its constructor arguments, so `env.spec` describes (and can rebuild)
the wrapped env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class PhysicsScale(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Scales body masses (one body or all), gravity and friction of a MuJoCo env.

    A body's inertia tensor scales with its mass, as if its density changed: scaling the
    mass alone would give a body that is heavy but turns as easily as before.
    """

    def __init__(self, env: gym.Env, mass_scale: float = 1.0, mass_body: str | None = None,
                 gravity_scale: float = 1.0, friction_scale: float = 1.0):
        gym.utils.RecordConstructorArgs.__init__(
            self, mass_scale=mass_scale, mass_body=mass_body, gravity_scale=gravity_scale,
            friction_scale=friction_scale)
        gym.Wrapper.__init__(self, env)
        model = env.unwrapped.model
        if mass_body is None:
            bodies = slice(None)
        else:
            names = [model.body(i).name for i in range(model.nbody)]
            if mass_body not in names:
                raise ValueError(f"no body {mass_body!r}; bodies: {names}")
            bodies = names.index(mass_body)
        model.body_mass[bodies] *= mass_scale
        model.body_inertia[bodies] *= mass_scale
        model.opt.gravity[:] *= gravity_scale
        model.geom_friction[:] *= friction_scale


class TargetVelocity(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Rewards -|x_velocity - target| in place of forward progress (the "-Vel" tasks)."""

    def __init__(self, env: gym.Env, target: float):
        gym.utils.RecordConstructorArgs.__init__(self, target=target)
        gym.Wrapper.__init__(self, env)
        self.target = target

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = reward - info["reward_forward"] - abs(info["x_velocity"] - self.target)
        return obs, float(reward), terminated, truncated, info


class TargetDirection(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Rewards progress along `direction` (+1 forward, -1 backward) (the "-Dir" tasks)."""

    def __init__(self, env: gym.Env, direction: int):
        gym.utils.RecordConstructorArgs.__init__(self, direction=direction)
        gym.Wrapper.__init__(self, env)
        self.direction = direction

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        reward = reward + (self.direction - 1) * info["reward_forward"]
        return obs, float(reward), terminated, truncated, info


def make_shifted_env(env_id: str, mass_scale: float = 1.0, mass_body: str | None = None,
                     gravity_scale: float = 1.0, friction_scale: float = 1.0,
                     target_velocity: float | None = None, direction: int = 1) -> gym.Env:
    """`gymnasium.make(env_id)` with the given shifts; only the wrappers a shift needs."""
    env = gym.make(env_id, disable_env_checker=True)
    if (mass_scale, gravity_scale, friction_scale) != (1.0, 1.0, 1.0):
        env = PhysicsScale(env, mass_scale, mass_body, gravity_scale, friction_scale)
    if target_velocity is not None:
        env = TargetVelocity(env, target_velocity)
    if direction != 1:
        env = TargetDirection(env, direction)
    return env
