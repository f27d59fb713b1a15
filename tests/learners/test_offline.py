"""Offline learners on locally generated Pendulum datasets: TD3+BC and IQL learn from an
expert dataset, OER keeps more of a 3-task stream than random-selection replay, which keeps
more than fine-tuning, and the online components act on an offline learner unchanged."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from conftest import train_runs

from lifelong.cli import main
from lifelong.config import Agent
from lifelong.errors import ConfigError
from lifelong.evaluation.reference import single_task_scenario
from lifelong.learners import LEARNERS, replay
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator, seed_keys
from lifelong.scenarios import SCENARIOS, make_scenario
from lifelong.scenarios.offline import cache_root

pytest.importorskip("minari")

# Three Pendulum tasks (torque limit 2, torque limit 1 under low gravity, high gravity), each
# with 5,000 transitions per quality from a 64x64 SAC trained for 10,000 steps.
DATA = {"name": "offline-pendulum", "transitions": 5000, "behaviour_steps": 10000}
SMALL = {"hidden": [64, 64], "mbes": {"steps": 500, "hidden": [64, 64]}}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """{quality: scenario} for medium and expert data, and the Minari root holding them
    (collected once for the module)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIFELONG_CACHE_DIR", str(tmp_path_factory.mktemp("offline")))
        scenarios = {q: make_scenario(SCENARIOS["offline-pendulum"].options(**DATA, quality=q))
                     for q in ("medium", "expert")}
        (root,) = [p.parent for p in cache_root().glob("*/complete")]
    return scenarios, root


def _final_scores(scenario, learner_options: dict, steps: int, seeds: int) -> np.ndarray:
    """[seeds, tasks] normalized scores at the end of the stream (greedy evaluation), for
    a learner with 64x64 networks (and a small MBES ensemble)."""
    learner_options = {**SMALL, **learner_options}
    options = LEARNERS[learner_options["name"]].options(**learner_options)
    agent = Agent(name="a", learner=options, components=[])
    evaluator, eval_params = make_evaluator(scenario, 10, True, None)
    loop = TaskLoop(build_agent(agent, scenario, steps), evaluator, steps, steps // 2)
    final = loop.run(seed_keys(0, seeds), scenario.stream_tasks, eval_params).returns[:, -1]
    return np.stack([task.dataset.normalized(final[:, j])
                     for j, task in enumerate(scenario.tasks)], axis=-1)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # the first test also collects the module's datasets
@pytest.mark.parametrize("name", ["td3bc", "iql"])
def test_learns_from_an_expert_dataset(datasets, name):
    scenarios, _ = datasets
    # Pendulum with torque limit 1 under gravity 5; measured (seed 0): td3bc 0.95, iql 1.01
    # (the untrained policy scores about 0).
    single = single_task_scenario(scenarios["expert"], 1)
    behaviour = single.tasks[0].dataset
    assert behaviour.normalized(behaviour.episode_returns().mean()) > 0.8
    scores = _final_scores(single, {"name": name}, 3000, 1)
    assert scores.mean() > 0.7, scores


@pytest.mark.slow
@pytest.mark.timeout(1800)  # three 3-task runs of 3 seeds: minutes on 2 busy cores
def test_oer_keeps_more_than_replay_which_keeps_more_than_finetuning(datasets):
    # Measured with these keys (seeds 0-2): finetune 0.17 (it forgets the first two tasks),
    # er 0.42, oer 0.48 (mean final normalized score over tasks and seeds).
    scenario = datasets[0]["medium"]
    performance = {
        name: _final_scores(scenario, options, 4000, 3).mean(axis=1)  # [seeds]
        for name, options in [("finetune", {"name": "td3bc"}),
                              ("er", {"name": "td3bc", "replay_per_task": 500}),
                              ("oer", {"name": "oer", "replay_per_task": 500})]
    }
    means = {name: float(p.mean()) for name, p in performance.items()}
    assert means["oer"] > means["er"] > means["finetune"], performance


def test_components_and_rehearsal_act_on_an_offline_learner(datasets):
    _, root = datasets
    ids = ["lifelong/pendulum0-medium-v0", "lifelong/pendulum1-medium-v0"]
    stream = [f"scenario={{name: offline, datasets: {json.dumps(ids)}, root: '{root}'}}",
              "seeds=1", "steps_per_task=200", "eval_every=100", "eval.episodes=1",
              "learner={name: td3bc, hidden: [16, 16], batch_size: 32}"]
    agents = ("agents={ewc: {components: [multihead, ewc]}, "
              "packnet: {components: [multihead, packnet]}, "
              "agem: {components: [multihead, {name: agem, per_task: 64}]}, "
              "er: {learner: {name: td3bc, hidden: [16, 16], batch_size: 32, "
              "replay_per_task: 50}}}")
    runs, scenario, _ = train_runs([*stream, agents])
    assert scenario.offline and [t.name for t in scenario.tasks] == ids
    for name, run in runs.items():
        assert np.all(np.isfinite(run.returns)), name
    seed0 = lambda tree: jax.tree.map(lambda x: x[0], tree)  # noqa: E731
    fisher = seed0(runs["ewc"].agent.components["ewc"])["fisher"]
    assert sum(float(np.abs(x).sum()) for x in jax.tree.leaves(fisher)) > 0
    packnet = seed0(runs["packnet"].agent.components["packnet"])
    owners = np.concatenate([np.ravel(x) for x in jax.tree.leaves(packnet["table"]["owner"])])
    assert {0.0, 1.0} <= set(np.unique(owners))
    assert int(seed0(runs["agem"].agent.components["agem"])["memory"].seen) == 128
    memory = seed0(runs["er"].agent.aux.memory)
    assert replay.filled(memory).tolist() == [50, 50]  # one region per finished task
    rows = replay._unpack(memory, memory.data)
    assert sorted(set(np.asarray(rows.task_id).tolist())) == [0, 1]


def test_run_and_refusals_from_the_cli(datasets, tmp_path, capsys):
    _, root = datasets
    scenario = (f"scenario={{name: offline, datasets: [lifelong/pendulum2-expert-v0], "
                f"root: '{root}'}}")
    tiny = ["seeds=1", "steps_per_task=200", "eval_every=100", "eval.episodes=1",
            "learner={name: bc, hidden: [16, 16]}", "agents={finetune: {}}"]
    out = tmp_path / "run"
    assert main(["run", "--set", scenario, *[a for s in tiny for a in ("--set", s)],
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"finetune"}
    (anchors,) = json.loads((out / "baselines.json").read_text()).values()
    dataset = datasets[0]["expert"].tasks[2].dataset  # Minari's normalized score's anchors:
    assert (anchors["random"], anchors["reference"]) == (dataset.ref_min_score,
                                                          dataset.ref_max_score)
    assert main(["run", "--set", scenario, "--set", "learner.name=sac", "--dry-run"]) == 2
    assert "offline learner" in capsys.readouterr().err


def test_offline_learners_refuse_online_scenarios():
    study_scenario = make_scenario(SCENARIOS["gymnax-params"].options(
        name="gymnax-params", env_id="Pendulum-v1", tasks=[{}]))
    agent = Agent(name="a", learner=LEARNERS["td3bc"].options(name="td3bc"), components=[])
    with pytest.raises(ConfigError, match="online learner"):
        build_agent(agent, study_scenario, 100)
