"""Offline datasets on disk in the Minari format: `save` a `Dataset`, `load` one back.

A Minari dataset `namespace/name-vN` lives in `<root>/namespace/name-vN/data`. The root is
Minari's own (`MINARI_DATASETS_PATH`, default `~/.minari/datasets`) unless a call gives one;
Minari reads its root only from that variable, so a given root is set there for the duration
of the call. Episodes are stored in Minari's Arrow format (pyarrow is already a dependency),
the reference scores in Minari's `ref_min_score` / `ref_max_score` metadata (what
`minari.get_normalized_score` reads) and the dataset's `task` as JSON under `lifelong_task`.

`load` also reads foreign Minari datasets (flat Box observations, with reference scores):
their continuous actions are rescaled from the action space's bounds to [-1, 1], and their
task is their Gymnasium env spec. Nothing is ever downloaded. Minari is the optional extra
`lifelong[offline]`, imported only when a dataset is read or written.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from lifelong.datasets.dataset import Dataset, from_episodes, to_episodes
from lifelong.errors import ConfigError

ROOT_VARIABLE = "MINARI_DATASETS_PATH"
TASK_KEY = "lifelong_task"


def _minari() -> Any:
    try:
        import minari
    except ImportError:
        raise ConfigError("offline", "Minari datasets need the minari package; install it "
                          "with pip install 'lifelong[offline]'") from None
    return minari


@contextmanager
def _root(root: Path | None) -> Iterator[None]:
    """Minari's dataset root is `root` inside the block (unchanged when None)."""
    if root is None:
        yield
        return
    previous = os.environ.get(ROOT_VARIABLE)
    os.environ[ROOT_VARIABLE] = str(Path(root).expanduser().resolve())
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ROOT_VARIABLE]
        else:
            os.environ[ROOT_VARIABLE] = previous


def root_dir(root: Path | None = None) -> Path:
    """The folder datasets are read from and written to (`root`, or Minari's own)."""
    _minari()
    from minari.storage.datasets_root_dir import get_dataset_path

    with _root(root):
        return get_dataset_path()


def dataset_path(dataset_id: str, root: Path | None = None, field: str = "dataset_id") -> Path:
    """The folder of dataset `dataset_id` under `root` (it may not exist yet); raises
    `ConfigError` naming `field` for a malformed id."""
    _minari()
    from minari.dataset.minari_dataset import parse_dataset_id

    try:
        parse_dataset_id(dataset_id)
    except (ValueError, TypeError):  # TypeError: an id without its -vN version
        raise ConfigError(field, f"{dataset_id!r} is not a Minari dataset id; write it as "
                          "namespace/name-v0 (letters, digits, '-' and '_')") from None
    return root_dir(root) / dataset_id


def save(dataset: Dataset, dataset_id: str, root: Path | None = None,
         overwrite: bool = False) -> Path:
    """Writes `dataset` as Minari dataset `dataset_id` under `root`; returns its folder.

    An existing dataset with that id is replaced only with `overwrite`."""
    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    path = dataset_path(dataset_id, root)
    if path.exists():
        if not (path / "data").is_dir():
            raise ConfigError("dataset_id", f"{path} exists and is not a Minari dataset (a "
                              "namespace?); choose another id")
        if not overwrite:
            raise ConfigError("dataset_id", f"dataset {dataset_id!r} already exists at {path}; "
                              "choose another id (or version), or overwrite it")
        shutil.rmtree(path)
    observation_space = gym.spaces.Box(-np.inf, np.inf, (dataset.obs_dim,), np.float32)
    if dataset.discrete:
        action_space = gym.spaces.Discrete(
            int(dataset.task.get("action_dim", dataset.action.max() + 1)))
    else:
        action_space = gym.spaces.Box(-1.0, 1.0, dataset.action.shape[1:], np.float32)
    episodes = [EpisodeBuffer(observations=e["observations"], actions=e["actions"],
                              rewards=e["rewards"], terminations=e["terminations"],
                              truncations=e["truncations"])
                for e in to_episodes(dataset)]
    with _root(root), warnings.catch_warnings():
        # Minari warns about each optional field left out (author, code link, Gymnasium env).
        warnings.simplefilter("ignore", UserWarning)
        created = minari.create_dataset_from_buffers(
            dataset_id, episodes, algorithm_name="lifelong collect",
            observation_space=observation_space, action_space=action_space,
            description="Collected with `lifelong collect`; the task is in the metadata key "
                        f"{TASK_KEY!r}.", data_format="arrow")
        # Minari records reference scores only for datasets with a Gymnasium eval env.
        created.storage.update_metadata({"ref_min_score": dataset.ref_min_score,
                                         "ref_max_score": dataset.ref_max_score,
                                         TASK_KEY: json.dumps(dataset.task)})
    return path


def load(id_or_path: str | Path, root: Path | None = None, field: str = "dataset") -> Dataset:
    """A `Dataset` from a Minari dataset id (under `root`) or a dataset folder (the one holding
    `data/`, or `data/` itself); raises `ConfigError` naming `field` when it cannot."""
    minari = _minari()
    path = _data_path(minari, str(id_or_path), root, field)
    try:
        source = minari.MinariDataset(path)
    except ValueError as error:  # e.g. made by a Minari version this one cannot read
        raise ConfigError(field, f"cannot read {path}: {error}") from None
    metadata = source.storage.metadata
    name = metadata["dataset_id"]
    if not isinstance(source.observation_space, gym.spaces.Box):
        raise ConfigError(field, f"{name} has {source.observation_space} observations; only "
                          "flat Box observations are supported")
    low, high = metadata.get("ref_min_score"), metadata.get("ref_max_score")
    if low is None or high is None:
        raise ConfigError(field, f"{name} has no reference scores, which normalized scores "
                          "need; add them with minari.load_dataset(id).storage."
                          "update_metadata({'ref_min_score': <random policy's mean return>, "
                          "'ref_max_score': <expert's mean return>})")
    actions = _action_form(source.action_space, name, field)
    episodes = [{"observations": e.observations, "actions": actions(e.actions),
                 "rewards": e.rewards, "terminations": e.terminations,
                 "truncations": e.truncations}
                for e in source.iterate_episodes()]
    return from_episodes(episodes, low, high, _task(metadata, source.env_spec))


def _data_path(minari: Any, id_or_path: str, root: Path | None, field: str) -> Path:
    """The `data` folder of a dataset given by folder or by id."""
    folder = Path(id_or_path).expanduser()
    if folder.is_dir():
        data = folder / "data" if (folder / "data").is_dir() else folder
        if not (data / "metadata.json").is_file():
            raise ConfigError(field, f"{folder} is not a Minari dataset folder (no "
                              "data/metadata.json)")
        return data
    data = dataset_path(id_or_path, root, field) / "data"
    if not data.is_dir():
        with _root(root), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a misconfigured folder is just not listed
            known = sorted(minari.list_local_datasets())
        found = ", ".join(known) if known else "none"
        raise ConfigError(field, f"no Minari dataset {id_or_path!r} under {root_dir(root)} "
                          f"(found: {found}); create it with `lifelong collect` or give its "
                          "folder")
    return data


def _action_form(space: Any, name: str, field: str):
    """Converts stored actions to the agent's form: int32 indices, or float32 in [-1, 1]."""
    if isinstance(space, gym.spaces.Discrete):
        return lambda actions: np.asarray(actions, np.int32) - np.int32(space.start)
    if not isinstance(space, gym.spaces.Box):
        raise ConfigError(field, f"{name} has {space} actions; only Discrete and Box actions "
                          "are supported")
    low, high = space.low.astype(np.float32), space.high.astype(np.float32)
    if np.all(low == -1) and np.all(high == 1):
        return lambda actions: np.asarray(actions, np.float32)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ConfigError(field, f"{name} has unbounded actions ({space}); they cannot be "
                          "normalized to [-1, 1]")
    return lambda actions: (2 * (np.asarray(actions, np.float32) - low) / (high - low)
                            - 1).astype(np.float32)


def _task(metadata: dict[str, Any], env_spec: Any) -> dict[str, Any]:
    """The dataset's task: lifelong's own, else the Gymnasium env it was collected on."""
    if TASK_KEY in metadata:
        return json.loads(metadata[TASK_KEY])
    if env_spec is not None:
        return {"gymnasium": {"id": env_spec.id, "kwargs": dict(env_spec.kwargs)}}
    return {}
