"""Continual World (Wolczyk et al., NeurIPS 2021): CW10 and CW20 on Meta-World v3.

The paper's tasks are Meta-World v1 envs, which metaworld 3.x no longer ships; each maps to
its v3 counterpart of the same name:

    hammer-v1 -> hammer-v3              handle-press-side-v1 -> handle-press-side-v3
    push-wall-v1 -> push-wall-v3        push-v1 -> push-v3
    faucet-close-v1 -> faucet-close-v3  shelf-place-v1 -> shelf-place-v3
    push-back-v1 -> push-back-v3        window-close-v1 -> window-close-v3
    stick-pull-v1 -> stick-pull-v3      peg-unplug-side-v1 -> peg-unplug-side-v3

v3 envs differ from v1 in rewards and some geometry, so success rates are not comparable
with the paper's numbers, only the protocol is (200-step episodes, goals resampled at every
reset, success flag as the score; see `lifelong.envs.meta_world`). CW20 is CW10 twice: the
same ten tasks, so training on a task the second time continues the first time's task.
"""

from __future__ import annotations

import difflib

from pydantic import Field

from lifelong.envs.host_env import MUJOCO_FIX, host_params
from lifelong.envs.meta_world import meta_world_host_env
from lifelong.errors import ConfigError
from lifelong.scenarios.registry import ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task

CW10 = [
    "hammer-v3", "push-wall-v3", "faucet-close-v3", "push-back-v3", "stick-pull-v3",
    "handle-press-side-v3", "push-v3", "shelf-place-v3", "window-close-v3",
    "peg-unplug-side-v3",
]


class ContinualWorldOptions(ScenarioOptions):
    tasks: list[str] = Field(
        CW10, min_length=1,
        description="Meta-World v3 task names in stream order (default: CW10).",
    )


class CW20Options(ContinualWorldOptions):
    cycles: int = Field(2, ge=1, description="Repeat the task sequence this many times.")


def _known_tasks() -> list[str]:
    try:
        import metaworld
    except ImportError:
        raise ConfigError("scenario.name", f"Continual World needs Meta-World; {MUJOCO_FIX}") \
            from None
    return list(metaworld.MT1.ENV_NAMES)


def build(options: ContinualWorldOptions) -> list[Task]:
    known = _known_tasks()
    tasks = []
    for i, name in enumerate(options.tasks):
        if name not in known:
            guess = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"choose from {known}"
            raise ConfigError(f"scenario.tasks.{i}", f"unknown Meta-World task {name!r}; {hint}")
        if name in options.tasks[:i]:
            raise ConfigError(f"scenario.tasks.{i}", f"{name} is listed twice; use cycles to "
                              "revisit tasks")
        env = meta_world_host_env(name)
        tasks.append(Task(name=name, env=env, params=host_params(env, i)))
    return tasks


register_scenario(
    "cw10", ContinualWorldOptions, "Continual World CW10: ten Meta-World v3 tasks (success rate)."
)(build)
register_scenario(
    "cw20", CW20Options, "Continual World CW20: CW10 twice (cycles: 2), Meta-World v3."
)(build)
