"""The `lifelong collect` config: which online scenario to collect offline datasets from, at
which qualities and budgets, and the Minari ids the datasets get.

    scenario: {name: gymnax-params, env_id: Pendulum-v1, tasks: [{}, {g: 5.0}]}
    qualities: [random, medium, expert, medium-replay]
    transitions: 10000          # env steps recorded per policy dataset
    behaviour_steps: 20000      # env steps of each task's behaviour run
    namespace: lifelong/pendulum   # ids: <namespace>/<task slug>-<quality>-v0
    learner: {hidden: [64, 64]}    # behaviour learner options (sac or dqn)

A task's slug is its name in lowercase with every run of other characters than a-z and 0-9
replaced by '-': task `Pendulum-v1[g=5]` at quality `medium` is `<namespace>/pendulum-v1-g-5-
medium-v0`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from lifelong import config
from lifelong.datasets import minari_store
from lifelong.datasets.collect import check_qualities
from lifelong.datasets.dataset import QUALITIES
from lifelong.errors import ConfigError
from lifelong.scenarios import SCENARIOS, ScenarioOptions


class CollectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str | dict[str, Any] = Field(description="An online scenario (gymnax envs).")
    qualities: list[str] = Field(list(QUALITIES), description="Datasets per task, among "
                                 f"{', '.join(QUALITIES)}.")
    transitions: int = Field(10_000, ge=1, description="Env steps recorded per policy dataset "
                             "(medium-replay holds the behaviour run's steps instead).")
    behaviour_steps: int = Field(20_000, ge=1, description="Env steps of each task's "
                                 "behaviour run (SAC or DQN).")
    evals: int = Field(10, ge=1, description="Evaluation points of the behaviour run (the "
                       "candidates for the medium policy).")
    eval_episodes: int = Field(20, ge=1, description="Episodes per evaluation, and of the "
                               "reference scores.")
    medium_level: float = Field(0.5, ge=0, le=1, description="Where the medium policy's "
                                "return lies between the random and the expert return.")
    seed: int = Field(0, description="PRNG seed.")
    namespace: str | None = Field(None, description="Minari namespace of the datasets "
                                  "(default: lifelong/<scenario name>).")
    learner: dict[str, Any] | None = Field(None, description="Behaviour learner options (sac "
                                           "for continuous actions, dqn for discrete).")


class Collection(NamedTuple):
    """A validated collect config."""

    config: CollectConfig
    scenario: ScenarioOptions
    namespace: str


def load(path: str | Path, overrides: list[str] = ()) -> Collection:
    """Reads a collect YAML file and applies `--set` overrides; raises `ConfigError`."""
    data = config.read(path, overrides, CollectConfig, "collect")
    collect = config.validate_model(CollectConfig, data, "")
    scenario = config.named_options(SCENARIOS, collect.scenario, "scenario", "scenario")
    check_qualities(collect.qualities)
    return Collection(collect, scenario, collect.namespace or f"lifelong/{scenario.name}")


def slug(name: str) -> str:
    """`name` as a Minari dataset name: lowercase a-z, 0-9 and single '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def dataset_ids(collection: Collection, task_names: list[str], root: Path | None,
                overwrite: bool) -> list[dict[str, str]]:
    """{quality: dataset id} per task; raises `ConfigError` for an id that cannot be written
    (malformed, two tasks with one slug, or already under `root` without `overwrite`)."""
    slugs: dict[str, str] = {}
    ids = []
    for name in task_names:
        if slug(name) in slugs:
            raise ConfigError("scenario.tasks", f"tasks {slugs[slug(name)]!r} and {name!r} "
                              f"get the same dataset name {slug(name)!r}; make them distinct")
        slugs[slug(name)] = name
        task_ids = {q: f"{collection.namespace}/{slug(name)}-{q}-v0"
                    for q in collection.config.qualities}
        for dataset_id in task_ids.values():
            path = minari_store.dataset_path(dataset_id, root, "namespace")
            if path.exists() and not overwrite:
                raise ConfigError("namespace", f"dataset {dataset_id!r} already exists in "
                                  f"{path.parent}; pass --overwrite to replace it, or set "
                                  "another namespace")
        ids.append(task_ids)
    return ids
