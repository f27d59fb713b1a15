"""Datasets survive a round trip through the Minari format, read by Minari and by `load`."""

import json
import os

import numpy as np
import pytest

from lifelong.datasets import minari_store
from lifelong.datasets.dataset import Dataset, from_episodes
from lifelong.errors import ConfigError

minari = pytest.importorskip("minari")

FIELDS = ("obs", "action", "reward", "next_obs", "terminated", "truncated")
TASK = {"scenario": {"name": "gymnax-params", "env_id": "Pendulum-v1", "tasks": [{"g": 5.0}]},
        "index": 0, "quality": "medium", "action_dim": 1}


def episodes(discrete: bool, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Three episodes: truncated, terminated, truncated."""
    rng = np.random.default_rng(seed)
    out = []
    for steps, terminal in [(5, False), (7, True), (3, False)]:
        actions = (rng.integers(0, 3, steps).astype(np.int32) if discrete
                   else rng.uniform(-1, 1, (steps, 2)).astype(np.float32))
        flag = np.zeros(steps, bool)
        flag[-1] = True
        out.append({"observations": rng.normal(size=(steps + 1, 4)).astype(np.float32),
                    "actions": actions, "rewards": rng.normal(size=steps).astype(np.float32),
                    "terminations": flag & terminal, "truncations": flag & (not terminal)})
    return out


def assert_same(a: Dataset, b: Dataset) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert (a.ref_min_score, a.ref_max_score, a.task) == (b.ref_min_score, b.ref_max_score,
                                                          b.task)


@pytest.mark.parametrize("discrete", [False, True], ids=["continuous", "discrete"])
def test_round_trip(tmp_path, monkeypatch, discrete):
    dataset = from_episodes(episodes(discrete), -1234.5, -150.25,
                            {**TASK, "action_dim": 3 if discrete else 2})
    dataset_id = "lifelong/test/pendulum-g-5-medium-v0"
    path = minari_store.save(dataset, dataset_id, tmp_path)
    assert path == tmp_path / dataset_id and (path / "data" / "metadata.json").is_file()

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))  # Minari itself reads it
    direct = minari.load_dataset(dataset_id)
    assert direct.total_episodes == 3 and direct.total_steps == len(dataset)
    assert minari.get_normalized_score(direct, np.array([-150.25])) == pytest.approx(1.0)
    assert json.loads(direct.storage.metadata["lifelong_task"]) == dataset.task
    if discrete:
        assert direct.action_space.n == 3
    rows = from_episodes([{"observations": e.observations, "actions": e.actions,
                           "rewards": e.rewards, "terminations": e.terminations,
                           "truncations": e.truncations} for e in direct.iterate_episodes()],
                         -1234.5, -150.25, dataset.task)
    for name in FIELDS:
        assert np.array_equal(getattr(rows, name), getattr(dataset, name)), name
    monkeypatch.delenv("MINARI_DATASETS_PATH")

    assert_same(minari_store.load(dataset_id, tmp_path), dataset)
    assert_same(minari_store.load(path), dataset)  # by folder, no root needed
    assert "MINARI_DATASETS_PATH" not in os.environ  # a given root is set only during a call


def test_existing_ids_are_kept_unless_overwritten(tmp_path):
    first = from_episodes(episodes(False, seed=0), 0.0, 1.0)
    second = from_episodes(episodes(False, seed=1), 0.0, 1.0)
    minari_store.save(first, "ns/data-v0", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        minari_store.save(second, "ns/data-v0", tmp_path)
    (tmp_path / "ns" / "folder-v0").mkdir()
    with pytest.raises(ConfigError, match="not a Minari dataset"):  # never deletes a folder
        minari_store.save(second, "ns/folder-v0", tmp_path, overwrite=True)
    minari_store.save(second, "ns/data-v0", tmp_path, overwrite=True)
    assert_same(minari_store.load("ns/data-v0", tmp_path), second)


def test_bad_ids_name_the_fix(tmp_path):
    minari_store.save(from_episodes(episodes(True), 0.0, 1.0), "ns/here-v0", tmp_path)
    with pytest.raises(ConfigError, match=r"no Minari dataset 'ns/gone-v0'.*found: ns/here-v0"):
        minari_store.load("ns/gone-v0", tmp_path)
    with pytest.raises(ConfigError, match="not a Minari dataset id"):
        minari_store.load("no version", tmp_path)
    with pytest.raises(ConfigError, match="not a Minari dataset id"):
        minari_store.save(from_episodes(episodes(True), 0.0, 1.0), "bad+name-v0", tmp_path)


def test_foreign_datasets(tmp_path, monkeypatch):
    """A dataset made by Minari alone: actions rescaled from the env's bounds, the task from
    its env spec, and reference scores required."""
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("Pendulum-v1")  # actions in [-2, 2]
    buffers = [EpisodeBuffer(observations=e["observations"][:, :3],
                             actions=2 * e["actions"][:, :1], rewards=e["rewards"],
                             terminations=e["terminations"], truncations=e["truncations"])
               for e in episodes(False)]
    with pytest.warns(UserWarning):  # Minari's warnings about the metadata left out
        made = minari.create_dataset_from_buffers("foreign/pendulum-v0", buffers, env=env,
                                                  data_format="arrow")
    with pytest.raises(ConfigError, match="no reference scores.*update_metadata"):
        minari_store.load("foreign/pendulum-v0")
    made.storage.update_metadata({"ref_min_score": -1200.0, "ref_max_score": -150.0})
    dataset = minari_store.load("foreign/pendulum-v0")
    assert dataset.task == {"gymnasium": {"id": "Pendulum-v1", "kwargs": env.spec.kwargs}}
    expected = np.concatenate([e["actions"][:, :1] for e in episodes(False)])
    assert np.allclose(dataset.action, expected, atol=1e-6)
    assert (dataset.ref_min_score, dataset.ref_max_score) == (-1200.0, -150.0)
