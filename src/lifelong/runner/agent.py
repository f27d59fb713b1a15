"""Builds one agent (learner + components) for a scenario, checking what it may see."""

from __future__ import annotations

from lifelong.components import COMPONENTS, make_component
from lifelong.config import Agent
from lifelong.errors import ConfigError
from lifelong.learners import LEARNERS
from lifelong.learners.offline import Offline
from lifelong.scenarios import Scenario


def build_agent(agent: Agent, scenario: Scenario, steps_per_task: int):
    """Returns the learner object of `agent`; a component needing hidden information fails."""
    components = []
    for i, options in enumerate(agent.components):
        component = make_component(options)
        field = f"agents.{agent.name}.components.{i}"
        if component.requires_task_id and not scenario.task_id_visible:
            raise ConfigError(field, f"{component.name!r} needs a visible task id, but scenario "
                              f"{scenario.name!r} hides it; remove the component or set "
                              "scenario.task_id_visible: true")
        if component.requires_boundaries and not scenario.boundaries_visible:
            raise ConfigError(field, f"{component.name!r} acts at task boundaries, which "
                              f"scenario {scenario.name!r} hides; remove the component or set "
                              "scenario.boundaries_visible: true")
        components.append(component)
    envs = {task.env for task in scenario.tasks}
    if len({env.host_stepped for env in envs}) > 1:
        raise ConfigError("scenario", f"scenario {scenario.name!r} mixes gymnax and Gymnasium "
                          "envs; a stream runs on one kind")
    learner_class = LEARNERS[agent.learner.name].learner
    offline_learner = issubclass(learner_class, Offline)
    if offline_learner != scenario.offline:
        wanted = ("an offline learner (bc, td3bc, iql, oer)" if scenario.offline
                  else "an online learner (ppo, sac, dqn)")
        kind = "datasets" if scenario.offline else "environments"
        raise ConfigError(f"agents.{agent.name}.learner.name", f"scenario {scenario.name!r} "
                          f"trains on {kind}, which {agent.learner.name!r} cannot; use {wanted}")
    if len({task.dataset is None for task in scenario.tasks}) > 1:
        raise ConfigError("scenario", f"scenario {scenario.name!r} mixes datasets and "
                          "environments; a stream is all offline or all online")
    if scenario.offline and scenario.host_stepped:
        raise ConfigError("scenario", f"scenario {scenario.name!r} evaluates offline tasks on "
                          "Gymnasium envs, which is not supported yet; use datasets collected "
                          "on gymnax envs (lifelong collect)")
    if getattr(agent.learner, "replay_per_task", 0) and not scenario.boundaries_visible:
        raise ConfigError(f"agents.{agent.name}.learner.replay_per_task", "the rehearsal "
                          f"memory is filled at task ends, which scenario {scenario.name!r} "
                          "hides; set replay_per_task: 0 or scenario.boundaries_visible: true")
    if agent.multitask and scenario.offline:
        raise ConfigError(f"agents.{agent.name}.multitask", "offline learners have no "
                          "multitask mode; remove multitask")
    if scenario.host_stepped and not hasattr(learner_class, "host_training"):
        raise ConfigError(f"agents.{agent.name}.learner.name", f"{agent.learner.name!r} runs "
                          f"on gymnax envs only, and scenario {scenario.name!r} steps "
                          "Gymnasium envs on the host; use sac (continuous) or dqn (discrete)")
    if agent.multitask and scenario.host_stepped:
        raise ConfigError(f"agents.{agent.name}.multitask", "multitask training on "
                          "host-stepped (Gymnasium) envs is not supported; use a gymnax "
                          "scenario or remove multitask")
    if agent.multitask and len(envs) > 1:
        raise ConfigError(f"agents.{agent.name}.multitask", f"scenario {scenario.name!r} mixes "
                          "environments; multitask training needs all tasks on one env")
    if agent.multitask and agent.learner.num_envs < scenario.num_tasks:
        raise ConfigError(f"agents.{agent.name}.learner.num_envs", "multitask training runs "
                          f"one env per task; set num_envs >= {scenario.num_tasks}")
    specs = {(e.obs_dim, e.action_dim, e.discrete) for e in envs}
    if len(specs) != 1:
        raise ConfigError("scenario", f"tasks disagree on (obs_dim, action_dim, discrete): "
                          f"{sorted(specs)}; pad them to one spec in the scenario builder")
    if agent.multitask and scenario.task_id_visible:
        # As Continual World's multitask baseline: one output head per task.
        components.append(make_component(COMPONENTS["multihead"].options(name="multihead")))
    return learner_class.build(agent.learner, tuple(components), scenario.tasks[0].env,
                               scenario.num_tasks, steps_per_task)
