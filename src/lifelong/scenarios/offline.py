"""Offline scenarios: streams of datasets in the Minari format, each evaluated on the env it
was collected on.

`offline` takes any list of Minari dataset ids (under a root folder) or dataset folders. A
dataset written by `lifelong collect` says which online scenario and task it came from, so
its eval env is that task's; datasets from the same scenario share one env (and one
compilation). `offline-pendulum` is built in: gymnax Pendulum under different torque limits
and gravities, its datasets generated locally on first use (a behaviour SAC per task, see
`datasets.collect`) and cached under `$LIFELONG_CACHE_DIR/datasets`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import jax.numpy as jnp
from pydantic import Field

from lifelong.datasets import minari_store
from lifelong.datasets.dataset import QUALITIES, Dataset
from lifelong.errors import ConfigError
from lifelong.scenarios.registry import SCENARIOS, ScenarioOptions, register_scenario
from lifelong.scenarios.task import Task

DATASETS_VERSION = 1  # bump when collection changes what a built-in scenario's data is


class OfflineOptions(ScenarioOptions):
    datasets: list[str] = Field(min_length=1, description="Minari dataset ids (under `root`) "
                                "or dataset folders, in stream order.")
    root: str | None = Field(None, description="Folder of the datasets (default: Minari's, "
                             "$MINARI_DATASETS_PATH or ~/.minari/datasets).")


class OfflinePendulumOptions(ScenarioOptions):
    tasks: list[dict[str, float]] = Field(
        [{"max_torque": 2.0}, {"max_torque": 1.0, "g": 5.0}, {"g": 15.0}],
        min_length=1, description="gymnax Pendulum-v1 EnvParams overrides, one dict per task.")
    quality: str = Field("medium", description=f"Dataset quality: one of {list(QUALITIES)}.")
    transitions: int = Field(10_000, ge=200, description="Transitions per dataset.")
    behaviour_steps: int = Field(20_000, ge=1000, multiple_of=10, description="Env steps of "
                                 "each task's behaviour SAC (a 64x64 network).")
    seed: int = Field(0, description="Seed of the behaviour runs and recordings.")


def _online_task(metadata: dict, built: dict[str, list[Task]], field: str) -> Task:
    """The online task a dataset's metadata names (scenarios built once per options)."""
    if "scenario" in metadata:
        options = metadata["scenario"]
        name, index = options.get("name"), metadata.get("index", 0)
    elif "gymnasium" in metadata:
        env = metadata["gymnasium"]
        options = {"name": "gymnasium", "envs": [{"id": env["id"],
                                                  "kwargs": env.get("kwargs") or {}}]}
        name, index = "gymnasium", 0
    else:
        raise ConfigError(field, "the dataset does not say which env evaluates it; collect it "
                          "with `lifelong collect`, or use a Minari dataset with an env_spec")
    if name not in SCENARIOS:
        raise ConfigError(field, f"the dataset was collected on scenario {name!r}, which this "
                          "lifelong does not have")
    key = json.dumps(options, sort_keys=True)
    if key not in built:
        built[key] = SCENARIOS[name].build(SCENARIOS[name].options.model_validate(options))
    return built[key][index]


def offline_tasks(datasets: list[tuple[str, Dataset]], field: str) -> list[Task]:
    """Offline tasks from (name, dataset) pairs; task k gets task id k."""
    built: dict[str, list[Task]] = {}
    tasks = []
    for k, (name, dataset) in enumerate(datasets):
        online = _online_task(dataset.task, built, f"{field}.{k}")
        env = online.env
        actions = (() if env.discrete else (env.action_dim,), env.discrete)
        if (dataset.obs_dim, (dataset.action.shape[1:], dataset.discrete)) != (env.obs_dim,
                                                                               actions):
            raise ConfigError(f"{field}.{k}", f"dataset {name!r} does not match its env "
                              f"{online.env.name} (observation or action size)")
        params = online.params.replace(task_id=jnp.int32(k))
        tasks.append(Task(name=name, env=online.env, params=params, dataset=dataset))
    return tasks


@register_scenario("offline", OfflineOptions,
                   "Minari datasets (ids or folders), each evaluated on its env.")
def build(options: OfflineOptions) -> list[Task]:
    root = None if options.root is None else Path(options.root)
    loaded = [(entry, minari_store.load(entry, root)) for entry in options.datasets]
    return offline_tasks(loaded, "scenario.datasets")


def cache_root() -> Path:
    """`$LIFELONG_CACHE_DIR/datasets`, default `~/.cache/lifelong/datasets`."""
    root = os.environ.get("LIFELONG_CACHE_DIR") or Path.home() / ".cache" / "lifelong"
    return Path(root) / "datasets"


@register_scenario("offline-pendulum", OfflinePendulumOptions,
                   "Offline Pendulum datasets (torque limits, gravities), generated locally.")
def build_pendulum(options: OfflinePendulumOptions) -> list[Task]:
    if options.quality not in QUALITIES:
        raise ConfigError("scenario.quality", f"unknown quality {options.quality!r}; choose "
                          f"from {list(QUALITIES)}")
    online = SCENARIOS["gymnax-params"].options(name="gymnax-params", env_id="Pendulum-v1",
                                                tasks=options.tasks)
    content = {"version": DATASETS_VERSION, "tasks": options.tasks, "seed": options.seed,
               "transitions": options.transitions, "behaviour": options.behaviour_steps}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]
    root = cache_root() / digest
    ids = [[f"lifelong/pendulum{i}-{quality}-v0" for quality in QUALITIES]
           for i in range(len(options.tasks))]
    if not (root / "complete").is_file():
        from lifelong.datasets import collect  # trains agents: loads the runner

        print(f"offline-pendulum: collecting datasets once into {root}", flush=True)
        collected = collect.collect(online, list(QUALITIES), options.transitions,
                                    options.behaviour_steps, seed=options.seed,
                                    learner_options={"hidden": [64, 64]})
        for task_ids, by_quality in zip(ids, collected):
            for dataset_id, quality in zip(task_ids, QUALITIES):
                minari_store.save(by_quality[quality], dataset_id, root, overwrite=True)
        (root / "complete").write_text("\n".join(sum(ids, [])))
    chosen = [task_ids[QUALITIES.index(options.quality)] for task_ids in ids]
    tasks = offline_tasks([(i, minari_store.load(i, root)) for i in chosen], "scenario.tasks")
    labels = [",".join(f"{k}={v:g}" for k, v in t.items()) or "default" for t in options.tasks]
    return [replace(task, name=f"Pendulum[{label}]/{options.quality}")
            for task, label in zip(tasks, labels)]
