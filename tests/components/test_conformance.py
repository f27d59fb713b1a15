"""The conformance suite: every registered component, through the same checks.

- it trains jitted and vmapped over seeds, combined with one other component;
- its state keeps one tree structure (shapes, dtypes) across task boundaries, so the
  task's training compiles once for a 3-task stream;
- its state survives a save/load round trip (`lifelong.runner.checkpoint`);
- with `strength: 0` (components that have one and keep the network) it is fine-tuning,
  bit for bit.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from conftest import compilations

from lifelong import config
from lifelong.components import COMPONENTS, make_component
from lifelong.runner.agent import build_agent
from lifelong.runner.checkpoint import state_from_bytes, state_to_bytes
from lifelong.runner.loop import TaskLoop, make_evaluator, seed_keys
from lifelong.scenarios import make_scenario

TINY = ["scenario.num_tasks=3", "seeds=2", "steps_per_task=64", "eval_every=32",
        "eval.episodes=1", "eval.max_steps=10",
        "learner={name: ppo, num_envs: 2, num_steps: 16, update_epochs: 1, "
        "num_minibatches: 2, hidden: [16, 16]}"]
NAMES = sorted(COMPONENTS)


def _partner(name: str) -> str:
    return "l2" if name == "ewc" else "ewc"


def _strength_zero_names() -> list[str]:
    return [name for name in NAMES if "strength" in COMPONENTS[name].options.model_fields
            and make_component(COMPONENTS[name].options(name=name)).wrap_network is None]


@functools.cache
def _train(components: str):
    """Trains one agent with `components` (a YAML list) through the tiny 3-task stream."""
    study = config.load(None, [*TINY, f"agents={{a: {{components: {components}}}}}"])
    scenario = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(scenario, 1, False, 10)
    loop = TaskLoop(build_agent(study.agents[0], scenario, 64), evaluator, 64, 32)
    keys = seed_keys(0, 2)
    initial = loop._init(jax.vmap(lambda k: jax.random.split(k, 3)[0])(keys))
    run = loop.run(keys, scenario.stream_tasks, eval_params)
    return loop, scenario, initial, run


def _signature(tree):
    return jax.tree.structure(tree), [(x.shape, x.dtype) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize("name", NAMES)
def test_trains_combined_and_compiles_once(name):
    loop, scenario, initial, run = _train(f"[{name}, {_partner(name)}]")
    assert run.returns.shape == (2, 1 + 3 * 2, 3)
    assert np.all(np.isfinite(run.returns))
    # (train_return is NaN by design in an eval period in which no episode ended)
    assert all(np.all(np.isfinite(v)) for k, v in run.diagnostics.items()
               if k != "train_return")
    assert _signature(run.agent) == _signature(initial)
    assert compilations(loop, scenario.tasks[0].env) == 1
    assert loop._end._cache_size() <= 1 and loop._start._cache_size() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_state_survives_save_and_load(name):
    _, _, initial, run = _train(f"[{name}, {_partner(name)}]")
    restored = state_from_bytes(initial, state_to_bytes(run.agent))
    assert _signature(restored) == _signature(run.agent)
    for saved, loaded in zip(jax.tree.leaves(run.agent), jax.tree.leaves(restored)):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))


@pytest.mark.parametrize("name", _strength_zero_names())
def test_strength_zero_is_finetuning(name):
    _, _, _, finetune = _train("[]")
    _, _, _, off = _train(f"[{{name: {name}, strength: 0}}]")
    np.testing.assert_array_equal(off.returns, finetune.returns)
    for a, b in zip(jax.tree.leaves(off.agent.learner.params),
                    jax.tree.leaves(finetune.agent.learner.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_every_family_is_covered():
    families = {entry.family for entry in COMPONENTS.values()}
    assert {"regularization", "replay", "optimization", "architecture",
            "plasticity"} <= families
