"""`lifelong collect`: offline datasets of a gymnax task at four qualities, end to end.

One real collection on one Pendulum task (a 4,000-step SAC behaviour run) through the
command line, read back with `minari_store.load`, serves every test of the data; the checks
of bad input stop before any training.
"""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

from lifelong.cli import main
from lifelong.datasets import minari_store
from lifelong.datasets.collect import collect, replay_dataset
from lifelong.datasets.dataset import QUALITIES, Dataset
from lifelong.errors import ConfigError
from lifelong.learners.replay import Transitions
from lifelong.scenarios import SCENARIOS

pytest.importorskip("minari")

EXAMPLE = Path(__file__).parents[2] / "examples" / "collect" / "pendulum.yaml"
TASK = "pendulum-v1-g-10"  # the slug of task Pendulum-v1[g=10]
BUDGET = ["--set", "scenario.tasks=[{g: 10.0}]", "--set", "transitions=2000",
          "--set", "behaviour_steps=4000", "--set", "evals=4"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> tuple[Path, dict[str, Dataset], str]:
    """(Minari root, {quality: dataset read back}, what the command printed)."""
    root = tmp_path_factory.mktemp("minari")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["collect", str(EXAMPLE), "--out", str(root), "--quiet", *BUDGET]) == 0
    datasets = {q: minari_store.load(f"lifelong/pendulum/{TASK}-{q}-v0", root)
                for q in QUALITIES}
    return root, datasets, printed.getvalue()


def score(dataset: Dataset) -> float:
    return float(dataset.normalized(dataset.episode_returns().mean()))


def test_better_policies_give_better_data(collected):
    _, datasets, _ = collected
    expert = datasets["expert"]
    assert expert.ref_max_score > expert.ref_min_score + 300  # the behaviour run learned
    scores = {q: score(d) for q, d in datasets.items()}
    assert scores["expert"] > 0.75  # the expert's own data, not a random policy's
    assert abs(scores["random"]) < 0.3
    assert scores["expert"] > scores["medium"] + 0.15
    assert scores["medium"] > scores["random"] - 0.1


def test_datasets_are_whole_episodes_in_the_agents_action_form(collected):
    _, datasets, _ = collected
    for quality, dataset in datasets.items():
        successors = dataset.successors()
        inside = successors >= 0
        assert np.array_equal(dataset.next_obs[inside], dataset.obs[successors[inside]])
        lengths = np.diff(np.concatenate([[0], dataset.episode_ends()]))
        assert np.all(lengths == 200) and dataset.truncated[dataset.episode_ends() - 1].all()
        assert dataset.action.shape == (len(dataset), 1)
        assert dataset.action.dtype == np.float32 and np.abs(dataset.action).max() <= 1
        assert dataset.task["index"] == 0 and dataset.task["quality"] == quality
        assert dataset.task["scenario"]["tasks"] == [{"g": 10.0}]
        ref = (dataset.ref_min_score, dataset.ref_max_score)
        assert ref == (datasets["expert"].ref_min_score, datasets["expert"].ref_max_score)
    for quality in ["random", "medium", "expert"]:
        assert len(datasets[quality]) == 2000
    # the behaviour run's replay rows before the medium point (an eval point of 4)
    assert len(datasets["medium-replay"]) in (1000, 2000, 3000, 4000)


def test_the_command_prints_the_ids(collected):
    root, datasets, printed = collected
    ids = [f"lifelong/pendulum/{TASK}-{q}-v0" for q in QUALITIES]
    assert yaml.safe_load(printed[printed.index("datasets:"):]) == {"datasets": ids}
    table = printed[:printed.index("datasets:")]
    assert all(i in table for i in ids) and str(root) in table
    expert = datasets["expert"]
    assert f"{expert.episode_returns().mean():.1f}" in table


@pytest.mark.parametrize("overrides, expected", [
    (["qualities=[random, great]"], "qualities.1: unknown quality 'great'; choose from "
                                    "random, medium, expert, medium-replay"),
    (["transitons=5"], "transitons: unknown key; did you mean 'transitions'?"),
    (["scenario.env_id=Pendulum"], "scenario.env_id: unknown gymnax env 'Pendulum'"),
    (["learner.name=ppo"], "learner.name: the behaviour policy is trained by an off-policy "
                           "learner; use sac (got 'ppo')"),
    (["evals=3"], "behaviour_steps: must be a multiple of evals x the learner's num_envs x "
                  "train_every = 3; e.g. behaviour_steps: 20001"),
    (["namespace=my datasets"], "namespace: 'my datasets/pendulum-v1-max-torque-2-random-v0' "
                                "is not a Minari dataset id"),
])
def test_bad_config_is_one_line_naming_the_field(tmp_path, capsys, overrides, expected):
    sets = [arg for o in overrides for arg in ("--set", o)]
    assert main(["collect", str(EXAMPLE), "--out", str(tmp_path), *sets]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"lifelong: error: {expected}"), err


def test_existing_datasets_need_overwrite(collected, capsys):
    root, _, _ = collected
    assert main(["collect", str(EXAMPLE), "--out", str(root), *BUDGET]) == 2
    assert "namespace: dataset 'lifelong/pendulum/pendulum-v1-g-10-random-v0' already " \
           "exists" in capsys.readouterr().err


def test_host_stepped_scenarios_are_refused():
    options = SCENARIOS["gymnasium"].options(name="gymnasium", envs=[{"id": "Pendulum-v1"}])
    with pytest.raises(ConfigError, match="use a gymnax scenario"):
        collect(options, ["random"], 100, 100)


def test_replay_rows_of_parallel_envs_become_their_episodes():
    """Three envs write one row each per step; env e's episodes end at the given steps (a
    terminal one, or a truncation: the next row starts elsewhere)."""
    steps, envs = 6, 3
    ends = {0: {2: "truncated"}, 1: {1: "terminated", 4: "truncated"}, 2: {}}
    obs = np.zeros((steps + 1, envs, 2), np.float32)
    next_obs = np.zeros((steps, envs, 2), np.float32)
    terminated = np.zeros((steps, envs), np.float32)
    for e in range(envs):
        value = 100.0 * e
        obs[0, e] = value
        for t in range(steps):
            next_obs[t, e] = value + 1
            if ends[e].get(t) == "terminated":
                terminated[t, e] = 1
            value = value + 1 if t not in ends[e] else 1000.0 * (e + t + 1)  # a reset
            obs[t + 1, e] = value
    flat = lambda x: x.reshape(steps * envs, *x.shape[2:])  # the buffer's write order
    rows = Transitions(flat(obs[:-1]), flat(np.zeros((steps, envs), np.int32)),
                       flat(np.ones((steps, envs), np.float32)), flat(next_obs),
                       flat(terminated), flat(np.zeros((steps, envs), np.int32)))
    dataset = replay_dataset(rows, envs, 0.0, 1.0, {})
    assert np.array_equal(dataset.obs[:steps], obs[:-1, 0])  # env 0's stream comes first
    ended = np.flatnonzero(dataset.terminated | dataset.truncated)
    assert list(ended) == [2, 5, 7, 10, 11, 17]
    assert list(np.flatnonzero(dataset.terminated)) == [7]
