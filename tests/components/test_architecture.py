"""Architecture components: packnet and hypernet (multihead is in tests/test_forgetting.py).

Unit tests of PackNet's pruning and freezing on a small network (no training), then the
forgetting probe (2 permuted-CartPole tasks, 4 seeds, greedy evaluation, fixed keys),
trained with the runner's own pieces and keys (`_run_with_snapshots`) to keep the agent
after each task.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import PROBE, raw_forgetting, significantly_less, study_loops

from lifelong import config
from lifelong.components import COMPONENTS, Batch, make_component
from lifelong.components.architecture.hypernet import (
    HypernetOptions,
    generated_drift,
    target_shapes,
)
from lifelong.components.architecture.packnet import (
    PackNetOptions,
    keep_schedule,
    prune,
    weight_masks,
)
from lifelong.errors import ConfigError
from lifelong.learners import PPO
from lifelong.learners.ppo import Transition
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop
from lifelong.scenarios import make_scenario

# ---------------------------------------------------------------- packnet: the mechanics


def test_prune_keeps_the_largest_free_weights_and_zeroes_the_rest():
    free = 3.0  # num_tasks = 3: owner 3 is "free"
    weights = jnp.array([[0.5, -4.0, 1.0, 0.0],
                         [2.0, -0.1, 3.0, 0.0]])
    owner = jnp.array([[free, free, 0.0, free],
                       [free, free, free, 0.0]])
    new_weights, new_owner = prune(weights, owner, jnp.int32(1), jnp.float32(0.5), 3)
    # free magnitudes: 0.5, 4.0, 0.0, 2.0, 0.1, 3.0 -> keep the 3 largest: -4.0, 2.0, 3.0
    np.testing.assert_array_equal(new_owner, [[free, 1.0, 0.0, free], [1.0, free, 1.0, 0.0]])
    np.testing.assert_array_equal(new_weights, [[0.0, -4.0, 1.0, 0.0], [2.0, 0.0, 3.0, 0.0]])
    # ties (all zero) are broken by position, the count is exact; keep 1 takes every free
    _, tied = prune(jnp.zeros((2, 4)), jnp.full((2, 4), free), jnp.int32(0), jnp.float32(0.25),
                    3)
    np.testing.assert_array_equal(tied.ravel(), [0, 0, free, free, free, free, free, free])
    _, everything = prune(weights, owner, jnp.int32(2), jnp.float32(1.0), 3)
    assert not np.any(np.asarray(everything) == free)


def test_keep_schedule_and_masks():
    np.testing.assert_allclose(keep_schedule(None, 4), [1 / 4, 1 / 3, 1 / 2, 1])
    np.testing.assert_allclose(keep_schedule(0.3, 3), [0.3, 0.3, 1.0])
    table = {"owner": {"k": jnp.array([0.0, 1.0, 2.0, 2.0])},  # 2 tasks: owner 2 is free
             "pruned": jnp.array([1.0, 0.0])}
    np.testing.assert_array_equal(weight_masks(table, jnp.int32(0), 2)["k"], [1, 0, 0, 0])
    np.testing.assert_array_equal(weight_masks(table, jnp.int32(1), 2)["k"], [1, 1, 1, 1])
    table["pruned"] = jnp.array([1.0, 1.0])
    np.testing.assert_array_equal(weight_masks(table, jnp.int32(1), 2)["k"], [1, 1, 0, 0])


def _small_packnet(num_tasks=3):
    """A PPO learner with packnet on 8-unit layers: 16 gradient steps per task, prune at 8."""
    study = config.load(None, [f"scenario.num_tasks={num_tasks}",
                               "learner={name: ppo, hidden: [8, 8]}"])
    scenario = make_scenario(study.scenario)
    component = make_component(PackNetOptions(name="packnet", prune_at=0.5))
    learner = PPO.build(study.learner, (component,), scenario.tasks[0].env, num_tasks, 512)
    assert learner.spec.updates_per_task == 16
    return learner, component


def test_packnet_prunes_freezes_and_keeps_old_outputs_exact():
    learner, component = _small_packnet()
    spec = learner.spec
    agent = learner.init(jax.random.PRNGKey(0))
    after_update = jax.jit(functools.partial(component.after_update, spec=spec))
    obs = jax.random.normal(jax.random.PRNGKey(1), (32, spec.obs_dim))

    def train(agent, task, key):
        """16 'gradient steps' of task `task` (random changes to every parameter)."""
        learner_state, state = agent.learner, agent.components["packnet"]
        batch = Batch(obs, jnp.zeros(32, jnp.int32), jnp.int32(task))
        history = []
        for k in jax.random.split(key, spec.updates_per_task):
            noise = jax.tree.map(lambda p, kk=k: 0.1 * jax.random.normal(kk, p.shape),
                                 learner_state.params["params"])
            moved = jax.tree.map(jnp.add, learner_state.params["params"], noise)
            learner_state = learner_state._replace(
                params={**learner_state.params, "params": moved})
            learner_state, state = after_update(learner_state, state, batch, key=k)
            history.append(learner_state.params)
        state = component.on_task_end(state, learner_state.params, batch, spec, key)
        return agent._replace(learner=learner_state, components={"packnet": state}), history

    initial = agent.learner.params
    agent, history = train(agent, 0, jax.random.PRNGKey(2))
    at_prune, end = history[7], history[-1]  # prune_step = 8
    for path in at_prune["packnet"]["owner"]:
        module = path.split("/")[0]
        owner = np.asarray(end["packnet"]["owner"][path])
        size = owner.size
        assert (owner == 0).sum() == round(size / 3), path  # keep schedule: 1/3 of 3 tasks
        assert (owner == 3).sum() == size - round(size / 3), path
        np.testing.assert_array_equal(np.asarray(at_prune["packnet"]["owner"][path]), owner)
        kernel = np.asarray(end["params"][module]["kernel"])
        assert np.all(kernel[owner == 3] == 0)  # pruned weights held at zero while retraining
        before = np.asarray(history[6]["params"][module]["kernel"])
        assert np.all(before != 0)  # free weights trained before the prune
        retrained = np.asarray(at_prune["params"][module]["kernel"])[owner == 0]
        assert np.all(retrained != kernel[owner == 0])  # kept weights retrain after it
    np.testing.assert_array_equal(np.asarray(agent.components["packnet"]["sealed"]), [1, 0, 0])
    assert np.any(np.asarray(initial["params"]["actor_0"]["bias"])
                  != np.asarray(end["params"]["actor_0"]["bias"]))  # shared: train on task 0

    head_0, value_0 = spec.apply(end, obs, jnp.int32(0))
    agent, history = train(agent, 1, jax.random.PRNGKey(3))
    final = history[-1]
    owners = final["packnet"]["owner"]
    for path, owner in owners.items():
        module = path.split("/")[0]
        owner, free_before = np.asarray(owner), int((np.asarray(
            end["packnet"]["owner"][path]) == 3).sum())
        assert (owner == 1).sum() == round(free_before / 2), path  # 1/2 of what was free
        kernel, kernel_0 = (np.asarray(p["params"][module]["kernel"]) for p in (final, end))
        np.testing.assert_array_equal(kernel[owner == 0], kernel_0[owner == 0])  # frozen
        assert np.all(kernel[owner == 1] != 0)
        assert np.all(kernel[owner == 3] == 0)
        np.testing.assert_array_equal(np.asarray(final["params"][module]["bias"]),
                                      np.asarray(end["params"][module]["bias"]))
    # the component's table and the network's copy agree
    for path in owners:
        np.testing.assert_array_equal(
            np.asarray(owners[path]),
            np.asarray(agent.components["packnet"]["table"]["owner"][path]))
    head_0_after, value_0_after = spec.apply(final, obs, jnp.int32(0))
    np.testing.assert_array_equal(np.asarray(head_0), np.asarray(head_0_after))
    np.testing.assert_array_equal(np.asarray(value_0), np.asarray(value_0_after))
    head_1, _ = spec.apply(final, obs, jnp.int32(1))
    assert np.any(np.asarray(head_1) != np.asarray(head_0))


@pytest.mark.parametrize("order", [("packnet", "nap"), ("nap", "packnet")])
def test_packnet_freezes_in_any_order_with_a_weight_editing_component(order):
    """nap rescales every kernel after each step; packnet's restore runs after it whatever
    the list order, so the first task's outputs survive real PPO updates on the second."""
    study = config.load(None, ["scenario.num_tasks=2", "learner={name: ppo, hidden: [8, 8]}"])
    scenario = make_scenario(study.scenario)
    components = tuple(make_component(COMPONENTS[n].options(name=n)) for n in order)
    learner = PPO.build(study.learner, components, scenario.tasks[0].env, 2, 512)
    spec = learner.spec
    update = jax.jit(learner._update_minibatch)
    obs = jax.random.normal(jax.random.PRNGKey(1), (32, spec.obs_dim))

    def train(agent, task):
        for key in jax.random.split(jax.random.PRNGKey(task), spec.updates_per_task):
            key_action, key_adv = jax.random.split(key)
            action = jax.random.randint(key_action, (32,), 0, spec.action_dim)
            zeros = jnp.zeros(32)
            traj = Transition(obs, jnp.full(32, task), action, zeros, zeros, zeros, zeros)
            advantages = jax.random.normal(key_adv, (32,))
            agent = update(agent, (traj, advantages, advantages, jnp.int32(task)), key)
        batch, states = Batch(obs, action, jnp.int32(task)), dict(agent.components)
        for c in components:
            if c.on_task_end is not None:
                states[c.name] = c.on_task_end(states[c.name], agent.learner.params, batch,
                                               spec, key)
        return agent._replace(components=states)

    after_first = train(learner.init(jax.random.PRNGKey(0)), 0)
    after_second = train(after_first, 1)
    first, second = (np.asarray(spec.apply(a.learner.params, obs, jnp.int32(0))[0])
                     for a in (after_first, after_second))
    np.testing.assert_array_equal(first, second)
    assert np.any(np.asarray(spec.apply(after_second.learner.params, obs, jnp.int32(1))[0])
                  != second)


# ---------------------------------------------------------------- hypernet: the pieces


def test_hypernet_network_generates_actor_critic_sized_weights():
    study = config.load(None, ["scenario.num_tasks=3", "learner={name: ppo, hidden: [16, 8]}"])
    scenario = make_scenario(study.scenario)
    component = make_component(HypernetOptions(name="hypernet"))
    learner = PPO.build(study.learner, (component,), scenario.tasks[0].env, 3, 512)
    spec = learner.spec
    assert spec.hidden_layers == ()
    params = learner.init(jax.random.PRNGKey(0)).learner.params
    generated = spec.apply(params, jnp.arange(3), method="generate")
    sizes = [int(np.prod(shape)) for _, shape, _ in target_shapes(spec.obs_dim,
                                                                 spec.action_dim, True, (16, 8))]
    assert generated.shape == (3, sum(sizes)) == (3, 4 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2
                                                  + 4 * 16 + 16 + 16 * 8 + 8 + 8 + 1)
    # at init every task gets the same well-scaled network: the first kernel orthogonal(sqrt 2)
    np.testing.assert_allclose(generated[0], generated[2])
    kernel = np.asarray(generated[0, :64]).reshape(4, 16)
    np.testing.assert_allclose(kernel @ kernel.T, 2 * np.eye(4), atol=1e-5)
    obs = jax.random.normal(jax.random.PRNGKey(1), (5, spec.obs_dim))
    logits, value = spec.apply(params, obs, jnp.int32(1))
    assert logits.shape == (5, spec.action_dim) and value.shape == (5,)
    assert set(spec.features(params, obs, jnp.int32(1))) == {"actor_0", "actor_1",
                                                             "critic_0", "critic_1"}


def test_generated_drift_averages_over_old_tasks_only():
    generated = jnp.array([[1.0, 1.0], [0.0, 3.0], [5.0, 5.0]])
    targets = jnp.array([[0.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    # tasks 0 and 1 old: (1 + 4) / 2; task 2 is not compared
    np.testing.assert_allclose(generated_drift(generated, targets, jnp.array([1., 1., 0.])),
                               2.5)
    assert float(generated_drift(generated, targets, jnp.zeros(3))) == 0.0


@pytest.mark.parametrize("name", ["packnet", "hypernet"])
def test_refuses_hidden_task_ids(name):
    study = config.load(None, ["scenario.task_id_visible=false",
                               f"agents={{a: {{components: [{name}]}}}}"])
    scenario = make_scenario(study.scenario)
    with pytest.raises(ConfigError, match="task id"):
        build_agent(study.agents[0], scenario, study.config.steps_per_task)


@pytest.mark.parametrize("name", ["packnet", "hypernet"])
def test_refuses_a_network_it_cannot_wrap(name):
    component = make_component(COMPONENTS[name].options(name=name))
    with pytest.raises(ConfigError, match=name):
        component.wrap_network(object(), None)


# ---------------------------------------------------------------- the forgetting probe


def _run_with_snapshots(loop: TaskLoop, keys, stream, eval_params):
    """As `TaskLoop.run` (same keys, one device), also returning the agent after each task:
    (returns [seeds, 1 + K * evals, eval_tasks], [agent after task k])."""
    key_init, key_eval, key_tasks = jax.vmap(lambda k: jax.random.split(k, 3),
                                             out_axes=1)(keys)
    agent = loop._init(key_init)
    curves, agents = [loop._evaluate(agent, eval_params, key_eval)[:, None]], []
    for position, task in enumerate(stream):
        task_keys = jax.vmap(lambda k, p=position: jax.random.fold_in(k, p))(key_tasks)
        key_train, key_end = jax.vmap(jax.random.split, out_axes=1)(task_keys)
        if loop._starts:
            agent = loop._start(agent, task.params.task_id)
        agent, returns, _, batch = loop.train_function(task.env)(agent, task.params,
                                                                 eval_params, key_train)
        if loop._ends:
            agent = loop._end(agent, batch, key_end)
        curves.append(returns)
        agents.append(agent)
    return np.asarray(jnp.concatenate(curves, axis=1)), agents


@functools.cache
def _probe(agents: str):
    """{agent: (returns, [agent after each task], loop)} on the probe, with the scenario and
    study."""
    loops, keys, eval_params, scenario, study = study_loops([*PROBE, f"agents={agents}"])
    out = {}
    for name, loop in loops.items():
        returns, snapshots = _run_with_snapshots(loop, keys, scenario.stream_tasks,
                                                 eval_params)
        out[name] = (returns, snapshots, loop)
    return out, scenario, study


def _outputs(loop, params, task_id: int):
    obs = jax.random.normal(jax.random.PRNGKey(7), (256, loop.learner.spec.obs_dim))
    return np.asarray(jax.vmap(lambda p: loop.learner.spec.apply(p, obs, jnp.int32(task_id))[0])
                      (params))


def test_packnet_does_not_forget(finetune_forgetting):
    runs, scenario, study = _probe("{packnet: {components: [packnet]}}")
    returns, (after_task_1, after_task_2), loop = runs["packnet"]
    after_task_1, after_task_2 = after_task_1.learner.params, after_task_2.learner.params
    # the first task's network is exactly what it was at the end of the first task
    np.testing.assert_array_equal(_outputs(loop, after_task_1, 0),
                                  _outputs(loop, after_task_2, 0))
    assert np.any(_outputs(loop, after_task_1, 1) != _outputs(loop, after_task_2, 1))
    forgetting = raw_forgetting(returns, scenario, study)
    assert significantly_less(forgetting, finetune_forgetting), forgetting
    assert np.all(np.abs(forgetting) < 100), forgetting  # evaluation noise only (measured <= 46)
    learned = returns[:, 4, 1]  # the second task, at its end, with half the weights
    assert learned.mean() > 300, learned


@pytest.fixture(scope="module")
def hypernet_probe():
    return _probe("{hypernet: {components: [hypernet]}}")


def test_hypernet_forgets_less_and_still_learns(hypernet_probe, finetune_probe,
                                               finetune_forgetting):
    runs, scenario, study = hypernet_probe
    returns, _, _ = runs["hypernet"]
    forgetting = raw_forgetting(returns, scenario, study)
    assert significantly_less(forgetting, finetune_forgetting), forgetting
    # each task, at the end of its own training, as well learned as with fine-tuning
    for point, task in ((2, 0), (4, 1)):
        ours, theirs = returns[:, point, task], finetune_probe[:, point, task]
        assert ours.mean() > 0.8 * theirs.mean(), (task, ours, theirs)


def test_hypernet_keeps_the_first_tasks_generated_weights(hypernet_probe):
    runs, _, _ = hypernet_probe
    returns, (after_task_1, after_task_2), loop = runs["hypernet"]
    off_runs, _, _ = _probe("{hypernet_off: {components: [{name: hypernet, strength: 0}]}}")
    off_returns, (off_task_1, off_task_2), off_loop = off_runs["hypernet_off"]
    # the penalty is off during the first task: both agents end it identical
    np.testing.assert_array_equal(off_returns[:, :3], returns[:, :3])
    for a, b in zip(jax.tree.leaves(after_task_1.learner.params),
                    jax.tree.leaves(off_task_1.learner.params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    stored = np.asarray(after_task_1.components["hypernet"]["targets"][:, 0])  # h(e_1; psi*)

    def drift(loop, params):
        generate = jax.vmap(lambda p: loop.learner.spec.apply(p, jnp.int32(0),
                                                              method="generate"))
        return np.linalg.norm(np.asarray(generate(params)) - stored, axis=-1)

    regularized = drift(loop, after_task_2.learner.params)
    free = drift(off_loop, off_task_2.learner.params)
    scale = np.linalg.norm(stored, axis=-1)
    # measured: regularized 0.1-1.8, unregularized 6-16, |h(e_1)| about 26
    assert np.all(regularized < 0.25 * free), (regularized, free, scale)
    assert np.all(regularized < 0.1 * scale), (regularized, scale)
