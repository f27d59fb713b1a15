"""Tasks that differ only in parameters share one compiled training function."""

import jax
from conftest import compilations

from lifelong import config
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator
from lifelong.scenarios import make_scenario


def _compiles(overrides):
    study = config.load(None, [*overrides, "seeds=2", "steps_per_task=1024",
                               "eval_every=512", "eval.max_steps=20", "eval.episodes=2"])
    scenario = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(scenario, 2, False, 20)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    counts = {}
    for agent in study.agents:
        loop = TaskLoop(build_agent(agent, scenario, 1024), evaluator, 1024, 512)
        returns = loop.run(keys, scenario.stream_tasks, eval_params).returns
        assert returns.shape == (2, 1 + 2 * len(scenario.stream), len(scenario.eval_tasks))
        counts[agent.name] = compilations(loop, scenario.tasks[0].env)
    return counts


def test_four_task_stream_compiles_train_step_once():
    # fine-tuning, l2, ewc (state updated at every task end) and multihead
    counts = _compiles(["scenario.num_tasks=4"])
    assert counts == {"finetune": 1, "l2": 1, "ewc": 1, "multihead": 1}


def test_env_param_changes_do_not_recompile():
    counts = _compiles([
        "agents={finetune: {}, ewc: {components: [ewc]}}",
        "scenario={name: gymnax-params, "
        "tasks: [{gravity: 9.8}, {gravity: 3.0}, {length: 1.5}, {masspole: 0.3}]}",
    ])
    assert counts == {"finetune": 1, "ewc": 1}
