"""Every component slot is wired: test components that make each slot's effect visible."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lifelong import config
from lifelong.components import Component
from lifelong.learners import PPO
from lifelong.runner.loop import TaskLoop, make_evaluator
from lifelong.scenarios import make_scenario

STEPS, EVAL_EVERY = 1024, 512  # 2 PPO updates x 4 epochs x 4 minibatches per task


def _run(component, num_tasks=2, lr=2.5e-4):
    study = config.load(None, [f"scenario.num_tasks={num_tasks}", "agents={a: {}}", "seeds=2",
                               f"learner.lr={lr}",
                               f"steps_per_task={STEPS}", f"eval_every={EVAL_EVERY}"])
    scenario = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(scenario, 2, False, 10)
    learner = PPO.build(study.learner, (component,), scenario.tasks[0].env, scenario.num_tasks,
                        STEPS)
    loop = TaskLoop(learner, evaluator, STEPS, EVAL_EVERY)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    init = loop._init(jax.vmap(lambda k: jax.random.split(k, 3)[0])(keys))
    return init, loop.run(keys, scenario.stream_tasks, eval_params).agent


def _counter(name="counter", **slots):
    return Component(name, lambda key, params, spec: {"n": jnp.int32(0), "seen": jnp.int32(-1)},
                     **slots)


def test_grad_tx_slot_runs_before_adam():
    component = Component("freeze", lambda k, p, s: {}, grad_tx=lambda spec: optax.set_to_zero())
    init, final = _run(component._replace(on_task_end=lambda s, p, b, spec, k: s))
    for before, after in zip(jax.tree.leaves(init.learner.params),
                             jax.tree.leaves(final.learner.params)):
        np.testing.assert_array_equal(before, after)


def test_after_update_and_boundary_slots_are_called():
    def after_update(learner, state, batch, spec, key):
        return learner, {**state, "n": state["n"] + 1}

    def on_task_start(state, params, task_id):
        return {**state, "seen": task_id}

    component = _counter(after_update=after_update, on_task_start=on_task_start,
                         on_task_end=lambda s, p, b, spec, k: s)
    _, final = _run(component)
    per_task = (STEPS // 512) * 4 * 4  # updates x epochs x minibatches
    assert list(final.components["counter"]["n"]) == [2 * per_task] * 2
    assert list(final.components["counter"]["seen"]) == [1, 1]  # the second task's id


def test_penalty_reaches_the_loss():
    # A huge penalty on the distance to zero shrinks the parameters; its state switches it.
    def penalty(params, state, batch, spec, key):
        return state["on"] * 10.0 * sum(jnp.sum(p**2) for p in jax.tree.leaves(params))

    def norm(agent):
        return float(sum(jnp.sum(p**2) for p in jax.tree.leaves(agent.learner.params)))

    active = Component("shrink", lambda k, p, s: {"on": jnp.float32(1.0)}, penalty=penalty)
    off = active._replace(init=lambda k, p, s: {"on": jnp.float32(0.0)})
    init, shrunk = _run(active, num_tasks=1, lr=0.01)
    _, free = _run(off, num_tasks=1, lr=0.01)
    assert norm(shrunk) < 0.5 * norm(init) < norm(free)


def test_grad_tx_reads_its_component_state_by_name():
    # A transformation that zeroes the gradient only while its component's state says so.
    def grad_tx(spec):
        def update(updates, state, params=None, *, components, batch, key, **extra):
            gate = components["gate"]["open"]
            return jax.tree.map(lambda u: gate * u, updates), state

        return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)

    closed = Component("gate", lambda k, p, s: {"open": jnp.float32(0.0)}, grad_tx=grad_tx)
    init, final = _run(closed, num_tasks=1)
    for before, after in zip(jax.tree.leaves(init.learner.params),
                             jax.tree.leaves(final.learner.params)):
        np.testing.assert_array_equal(before, after)
    opened = closed._replace(init=lambda k, p, s: {"open": jnp.float32(1.0)})
    init, final = _run(opened, num_tasks=1)
    assert any(np.any(a != b) for a, b in zip(jax.tree.leaves(init.learner.params),
                                              jax.tree.leaves(final.learner.params)))
