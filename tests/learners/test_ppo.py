"""PPO learns: near-maximal CartPole return within a fixed budget and fixed keys."""

import jax
import numpy as np
from conftest import train_study

from lifelong import config
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator
from lifelong.scenarios import make_scenario


def test_ppo_solves_cartpole():
    returns, _, _ = train_study([
        "scenario={name: gymnax-params, tasks: [{}]}", "agents={finetune: {}}",
        "seeds=2", "steps_per_task=262144", "eval_every=65536", "eval.greedy=true",
    ])
    curve = returns["finetune"].mean(axis=0)[:, 0]  # [eval_points]
    assert curve[0] < 100  # untrained
    assert curve[-1] >= 450  # CartPole-v1 maximum is 500


def test_ppo_continuous_actions_train_on_pendulum():
    study = config.load(None, [
        "scenario={name: gymnax-params, env_id: Pendulum-v1, "
        "tasks: [{max_torque: 2.0}, {max_torque: 1.0}]}", "agents={finetune: {}}",
        "seeds=2", "steps_per_task=4096", "eval_every=2048", "eval.episodes=2",
    ])
    scenario = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(scenario, 2, False, None)
    learner = build_agent(study.agents[0], scenario, 4096)
    assert not learner.spec.discrete
    loop = TaskLoop(learner, evaluator, 4096, 2048)
    returns = loop.run(jax.random.split(jax.random.PRNGKey(0), 2), scenario.stream_tasks,
                       eval_params).returns
    assert returns.shape == (2, 5, 2)
    assert np.all(np.isfinite(returns)) and np.all(returns < 0)  # Pendulum rewards are <= 0
