"""Plasticity components: each changes exactly the weights it claims, and has its effect.

Unit-level tests call a component's `after_update` on a built (untrained) agent; two
short training runs (relu, 2 tasks, 3 seeds, same keys) show that ReDo lowers the dormant
fraction and that NaP holds every weight norm at its initial value.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lifelong import config
from lifelong.components import Batch, LearnerState
from lifelong.components.plasticity.cbp import contribution, select_replacements
from lifelong.components.plasticity.shrink_perturb import fresh_params
from lifelong.errors import ConfigError
from lifelong.evaluation.diagnostics import dormant_fraction, unit_scores, weight_norms
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator
from lifelong.scenarios import make_scenario

KEY = jax.random.PRNGKey(0)


def _build(components: str, overrides=()):
    """(learner, initial AgentState) of one agent with `components`, without training."""
    study = config.load(None, ["scenario.num_tasks=2", *overrides,
                               f"agents={{a: {{components: {components}}}}}"])
    learner = build_agent(study.agents[0], make_scenario(study.scenario),
                          study.config.steps_per_task)
    return learner, learner.init(KEY)


def _jitted(component, spec):
    """The component's `after_update` for `spec`, jitted: (learner, state, batch, key)."""
    return jax.jit(lambda learner, state, batch, key: component.after_update(
        learner, state, batch, spec, key))


def _batch(spec, size=128):
    obs = jax.random.normal(jax.random.PRNGKey(1), (size, spec.obs_dim))
    return Batch(obs, jnp.zeros(size, jnp.int32), jnp.int32(0))


def _adam(opt_state) -> optax.ScaleByAdamState:
    (adam,) = [s for s in jax.tree.leaves(opt_state["adam"],
                                          is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
               if isinstance(s, optax.ScaleByAdamState)]
    return adam


def _with_unit_moments(learner_state: LearnerState) -> LearnerState:
    """Adam's mu and nu set to one everywhere (so resets show up as zeros)."""
    def ones(node):
        if isinstance(node, optax.ScaleByAdamState):
            return node._replace(mu=jax.tree.map(jnp.ones_like, node.mu),
                                 nu=jax.tree.map(jnp.ones_like, node.nu))
        return node

    opt_state = learner_state.opt_state.copy()
    opt_state["adam"] = jax.tree.map(ones, opt_state["adam"],
                                     is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
    return learner_state._replace(opt_state=opt_state)


def _kill(params, layer: str, units: list[int]):
    """Units whose relu is always off: zero incoming column, negative bias."""
    params = jax.tree.map(lambda x: x, params)
    dense = params["params"][layer]
    dense["kernel"] = dense["kernel"].at[:, units].set(0.0)
    dense["bias"] = dense["bias"].at[jnp.array(units)].set(-1.0)
    return params


def _expected_touched(spec, params, masks):
    """{module: {leaf: bool array}}: the weights owned by the units in `masks`."""
    out = {name: {leaf: np.zeros(x.shape, bool) for leaf, x in module.items()}
           for name, module in params["params"].items()}
    for layer in spec.hidden_layers:
        mask = np.asarray(masks[layer.name])
        out[layer.name]["kernel"] |= mask[None, :]
        out[layer.name]["bias"] |= mask
        out[layer.outgoing]["kernel"] |= mask[:, None]
    return out


def _assert_recycled(spec, old, new, masks):
    """Exactly the units in `masks` changed: fresh incoming column and zero bias, zero
    outgoing row; every other weight identical."""
    touched = _expected_touched(spec, old, masks)
    for name, module in old["params"].items():
        for leaf, before in module.items():
            after = np.asarray(new["params"][name][leaf])
            before = np.asarray(before)
            t = touched[name][leaf]
            np.testing.assert_array_equal(after[~t], before[~t], err_msg=f"{name}/{leaf}")
    for layer in spec.hidden_layers:
        mask = np.asarray(masks[layer.name])
        kernel = np.asarray(new["params"][layer.name]["kernel"])
        outgoing_rows = np.asarray(new["params"][layer.outgoing]["kernel"])[mask]
        assert np.all(outgoing_rows == 0), layer
        assert np.all(np.asarray(new["params"][layer.name]["bias"])[mask] == 0), layer
        # A fresh incoming column: no longer the old one, and not all zero.
        incoming_rows = np.arange(kernel.shape[0])
        reads = {h.outgoing: h.name for h in spec.hidden_layers}
        if layer.name in reads:  # rows read from recycled units of the layer below are zero
            incoming_rows = np.flatnonzero(~np.asarray(masks[reads[layer.name]]))
        fresh = kernel[np.ix_(incoming_rows, np.flatnonzero(mask))]
        old_cols = np.asarray(old["params"][layer.name]["kernel"])[
            np.ix_(incoming_rows, np.flatnonzero(mask))]
        assert np.all(fresh != old_cols) and np.all(np.abs(fresh).sum(axis=0) > 0), layer
    return touched


def _assert_moments(opt_old, opt_new, touched):
    """Adam's mu and nu are zero on the touched weights and untouched elsewhere."""
    old, new = _adam(opt_old), _adam(opt_new)
    assert int(new.count) == int(old.count)
    for moment in ("mu", "nu"):
        for name, module in touched.items():
            for leaf, t in module.items():
                before = np.asarray(getattr(old, moment)["params"][name][leaf])
                after = np.asarray(getattr(new, moment)["params"][name][leaf])
                assert np.all(after[t] == 0), (moment, name, leaf)
                np.testing.assert_array_equal(after[~t], before[~t])


# ReDo ------------------------------------------------------------------------------------

@pytest.mark.parametrize("components", ["[redo]", "[multihead, redo]"])
def test_redo_recycles_exactly_the_dormant_units(components):
    learner, agent = _build(components, ["learner.activation=relu"])
    spec, redo = learner.spec, learner.components[-1]
    params = _kill(agent.learner.params, "actor_0", [0, 3, 9])
    params = _kill(params, "critic_1", [5, 6, 7, 8])
    state = _with_unit_moments(agent.learner._replace(params=params))
    batch = _batch(spec)
    features = spec.features(params, batch.obs, batch.task_id)
    masks = {name: unit_scores(h) <= 0.1 for name, h in features.items()}
    assert all(bool(masks["actor_0"][i]) for i in (0, 3, 9))
    assert all(bool(masks["critic_1"][i]) for i in (5, 6, 7, 8))
    before = float(dormant_fraction(features))

    redo_state, step = agent.components["redo"], _jitted(redo, spec)
    # Not a recycling step (steps 1..99): nothing changes.
    quiet, _ = step(state, redo_state, batch, jax.random.PRNGKey(2))
    for a, b in zip(jax.tree.leaves(quiet), jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)
    # The 100th step recycles.
    redo_state = {**redo_state, "step": jnp.int32(99)}
    new, new_state = step(state, redo_state, batch, jax.random.PRNGKey(2))
    assert int(new_state["step"]) == 100
    features = spec.features(new.params, batch.obs, batch.task_id)
    after = float(dormant_fraction(features))
    # A fresh unit may itself be dormant on these states, but far fewer are.
    assert after < 0.5 * before, (before, after)
    assert np.all(unit_scores(features["actor_0"])[np.array([0, 3, 9])] > 0.1)
    assert np.all(unit_scores(features["critic_1"])[np.array([5, 7, 8])] > 0.1)
    touched = _assert_recycled(spec, params, new.params, masks)
    _assert_moments(state.opt_state, new.opt_state, touched)


def test_redo_and_cbp_need_hidden_layers():
    learner, agent = _build("[redo, cbp]")
    spec = dataclasses.replace(learner.spec, hidden_layers=())
    for component in learner.components:
        with pytest.raises(ConfigError, match="hidden layers"):
            component.init(KEY, agent.learner.params, spec)


def test_bad_options_are_rejected():
    for bad in ["{name: redo, tau: -1}", "{name: redo, every: 0}",
                "{name: cbp, replacement_rate: 2}", "{name: cbp, decay: 1}",
                "{name: shrink_perturb, shrink: 1.5}", "{name: nap, project: true}"]:
        with pytest.raises(ConfigError):
            config.load(None, [f"agents={{a: {{components: [{bad}]}}}}"])


# CBP -------------------------------------------------------------------------------------

def test_cbp_utility_and_fractional_counter():
    h = jnp.array([[1.0, -2.0, 0.0], [3.0, 0.0, 0.0]])  # [B=2, W=3]
    w = jnp.array([[1.0, -1.0], [0.5, 0.5], [2.0, 2.0]])  # [W=3, K=2]
    np.testing.assert_allclose(contribution(h, w), [2.0 * 2.0, 1.0 * 1.0, 0.0])

    # rate 0.01 with 10 eligible units of 12: one replacement every 10 steps, the eligible
    # unit of lowest utility (unit 4; unit 0 is lower but too young).
    utility = jnp.arange(12.0).at[0].set(-1.0).at[4].set(-0.5)
    age = jnp.full(12, 50).at[0].set(5).at[1].set(10)
    counter, replaced = jnp.float32(0.0), []
    for _ in range(20):
        mask, counter = select_replacements(utility, age, counter, jnp.float32(0.01),
                                            jnp.int32(10))
        replaced.append(np.flatnonzero(np.asarray(mask)).tolist())
    assert replaced.count([]) == 18 and replaced.count([4]) == 2, replaced
    assert replaced[9] == [4] or replaced[10] == [4]  # float round-off may shift it a step
    # Never more than the eligible units, even with a large accumulated count.
    mask, counter = select_replacements(utility, age, jnp.float32(30.0), jnp.float32(0.0),
                                        jnp.int32(10))
    assert np.asarray(mask).tolist() == [False, False] + [True] * 10
    assert float(counter) == 20.0


def test_cbp_replaces_exactly_the_chosen_units():
    learner, agent = _build("[multihead, cbp]")
    spec, cbp = learner.spec, learner.components[-1]
    state = _with_unit_moments(agent.learner)
    s = agent.components["cbp"]
    maturity, rate = int(s["maturity"]), float(s["rate"])
    width = s["age"]["actor_0"].shape[0]
    # actor_0: every unit mature except unit 5; units 3 and 7 (and the young unit 5) have a
    # tiny utility; the counter is set to cross 2 this step. Other layers are too young.
    age = {**s["age"], "actor_0": jnp.full(width, maturity + 1).at[5].set(0)}
    utility = {**s["utility"], "actor_0": jnp.full(width, 1e3).at[jnp.array([3, 5, 7])]
               .set(0.0)}
    counter = {**s["counter"], "actor_0": jnp.float32(2.0 - 0.5 * rate * (width - 1))}
    s = {**s, "age": age, "utility": utility, "counter": counter}
    batch = _batch(spec)
    step = _jitted(cbp, spec)
    new, new_s = step(state, s, batch, jax.random.PRNGKey(3))

    chosen = np.zeros(width, bool)
    chosen[[3, 7]] = True
    masks = {h.name: chosen if h.name == "actor_0" else np.zeros(width, bool)
             for h in spec.hidden_layers}
    touched = _assert_recycled(spec, state.params, new.params, masks)
    _assert_moments(state.opt_state, new.opt_state, touched)
    np.testing.assert_array_equal(new_s["age"]["actor_0"],
                                  np.where(chosen, 0, np.asarray(age["actor_0"]) + 1))
    assert np.all(np.asarray(new_s["utility"]["actor_0"])[chosen] == 0)
    assert np.all(np.asarray(new_s["utility"]["actor_0"])[~chosen] > 0)
    np.testing.assert_allclose(new_s["counter"]["actor_0"], 0.5 * rate * (width - 1),
                               rtol=1e-3)
    for name in ("actor_1", "critic_0", "critic_1"):
        np.testing.assert_array_equal(new_s["age"][name], 1)

    # With replacement_rate 0 (all units mature) nothing but CBP's own statistics changes.
    off = agent.components["cbp"]
    off = {**off, "rate": jnp.float32(0.0),
           "age": jax.tree.map(lambda a: a + maturity + 1, off["age"])}
    off, _ = step(state, off, batch, jax.random.PRNGKey(3))
    for a, b in zip(jax.tree.leaves(off), jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)


# Shrink & Perturb ------------------------------------------------------------------------

def test_shrink_perturb_changes_exactly_the_weights_it_claims():
    learner, agent = _build("[nap, shrink_perturb]")  # nap adds LayerNorms (not covered)
    spec, sp = learner.spec, learner.components[-1]
    state, s = agent.learner, agent.components["shrink_perturb"]
    batch, key, after_update = _batch(spec), jax.random.PRNGKey(4), _jitted(sp, spec)
    per_task = spec.updates_per_task
    # The whole first task: nothing changes.
    for step in (0, 1, per_task // 2, per_task - 1):
        new, new_s = after_update(state, {**s, "step": jnp.int32(step)}, batch, key)
        assert int(new_s["step"]) == step + 1
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(state)):
            np.testing.assert_array_equal(a, b)
    # The first step of every later task: theta <- 0.8 theta + 0.2 theta_fresh on every
    # Dense kernel and bias; LayerNorm parameters and Adam's state untouched.
    fresh = fresh_params(key, state.params, s["norm"])
    covered = {(m, leaf) for m, leaves in fresh.items() for leaf in leaves}
    assert covered == {(m, leaf) for m in ("actor_0", "actor_1", "actor_out", "critic_0",
                                           "critic_1", "critic_out")
                       for leaf in ("kernel", "bias")}
    for name, leaves in fresh.items():  # the fresh draw: the initial scale, zero biases
        kernel = state.params["params"][name]["kernel"]
        np.testing.assert_allclose(jnp.linalg.norm(leaves["kernel"]), jnp.linalg.norm(kernel),
                                   rtol=1e-4)
        assert not np.allclose(leaves["kernel"], kernel)
        np.testing.assert_array_equal(leaves["bias"], 0)
    for step in (per_task, 2 * per_task):
        new, _ = after_update(state, {**s, "step": jnp.int32(step)}, batch, key)
        for name, module in state.params["params"].items():
            for leaf, old in module.items():
                if (name, leaf) in covered:
                    np.testing.assert_allclose(new.params["params"][name][leaf],
                                               0.8 * old + 0.2 * fresh[name][leaf],
                                               rtol=1e-6, atol=1e-7)
                else:
                    np.testing.assert_array_equal(new.params["params"][name][leaf], old)
        for a, b in zip(jax.tree.leaves(new.opt_state), jax.tree.leaves(state.opt_state)):
            np.testing.assert_array_equal(a, b)
    assert sp.requires_boundaries


def test_shrink_perturb_every_n_steps():
    learner, agent = _build("[{name: shrink_perturb, every: 10, shrink: 1.0, perturb: 0.5}]")
    spec, sp = learner.spec, learner.components[0]
    assert not sp.requires_boundaries
    state, s, batch = agent.learner, agent.components["shrink_perturb"], _batch(spec)
    # One lane per step count, as the runner vmaps seeds: lanes that do not fire keep their
    # parameters bit for bit.
    steps = {**s, "step": jnp.arange(25, dtype=jnp.int32)}
    new, _ = jax.jit(jax.vmap(lambda state_: sp.after_update(state, state_, batch, spec, KEY),
                              in_axes=({k: (0 if k == "step" else None) for k in s},)))(steps)
    kernel = state.params["params"]["actor_0"]["kernel"]
    fired = [not np.array_equal(k, kernel) for k in new.params["params"]["actor_0"]["kernel"]]
    assert np.flatnonzero(fired).tolist() == [9, 19]  # after the 10th and 20th step


# NaP -------------------------------------------------------------------------------------

def test_nap_projects_kernels_and_layer_norms():
    learner, agent = _build("[{name: nap, project_output: false}]")
    spec, nap = learner.spec, learner.components[0]
    params = agent.learner.params
    assert "actor_0_norm" in params["params"]  # LayerNorm before each nonlinearity
    grown = jax.tree.map(lambda x: 3.0 * x + 0.1, params)
    new, _ = _jitted(nap, spec)(agent.learner._replace(params=grown), agent.components["nap"],
                                _batch(spec), KEY)
    for name in ("actor_0", "actor_1", "critic_0", "critic_1"):
        np.testing.assert_allclose(jnp.linalg.norm(new.params["params"][name]["kernel"]),
                                   jnp.linalg.norm(params["params"][name]["kernel"]),
                                   rtol=1e-5)
        np.testing.assert_array_equal(new.params["params"][name]["bias"],
                                      grown["params"][name]["bias"])
        norm = new.params["params"][name + "_norm"]
        width = norm["scale"].shape[0]
        np.testing.assert_allclose(jnp.sum(norm["scale"] ** 2) + jnp.sum(norm["bias"] ** 2),
                                   width, rtol=1e-5)
        ratio = norm["scale"] / grown["params"][name + "_norm"]["scale"]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)  # one factor for both
    for name in ("actor_out", "critic_out"):  # project_output: false leaves them free
        np.testing.assert_array_equal(new.params["params"][name]["kernel"],
                                      grown["params"][name]["kernel"])


# Short training runs ---------------------------------------------------------------------

# relu with a 10x learning rate makes fine-tuning leave ~20% of the units dormant. A chunk
# of 25 updates x 16 minibatches = 400 gradient steps, a multiple of redo's `every`.
RUN = ["scenario.num_tasks=2", "seeds=3", "steps_per_task=25600", "eval_every=12800",
       "eval.episodes=1", "eval.max_steps=50", "learner.activation=relu", "learner.lr=2.5e-3"]


AGENTS = {"finetune": "[]", "redo": "[redo]", "nap": "[nap]"}


@functools.cache
def _run(name: str):
    """(initial AgentState, StreamRun) of agent `name` of AGENTS on RUN; same keys for all."""
    study = config.load(None, [*RUN, f"agents={{{name}: {{components: {AGENTS[name]}}}}}"])
    scenario = make_scenario(study.scenario)
    cfg = study.config
    evaluator, eval_params = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                            cfg.eval.max_steps)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.seeds)
    loop = TaskLoop(build_agent(study.agents[0], scenario, cfg.steps_per_task), evaluator,
                    cfg.steps_per_task, cfg.eval_every)
    initial = loop._init(jax.vmap(lambda k: jax.random.split(k, 3)[0])(keys))
    return initial, loop.run(keys, scenario.stream_tasks, eval_params)


def test_redo_lowers_the_dormant_fraction_in_training():
    finetune = _run("finetune")[1].diagnostics["dormant_fraction"]  # [seeds, eval points]
    redo = _run("redo")[1].diagnostics["dormant_fraction"]
    assert finetune.mean() > 0.1, finetune  # the setting does make units dormant
    assert np.all(redo[:, -1] < finetune[:, -1]), (redo, finetune)
    assert redo.mean() < 0.5 * finetune.mean(), (redo, finetune)


def test_nap_keeps_every_weight_norm_through_the_stream():
    for name, rtol_check in (("nap", True), ("finetune", False)):
        initial, run = _run(name)
        norms = jax.vmap(weight_norms)(initial.learner.params)  # {layer: [seeds]}
        assert set(norms) == {"actor_0", "actor_1", "actor_out", "critic_0", "critic_1",
                              "critic_out"}
        drift = 0.0
        for layer, norm0 in norms.items():
            diag = run.diagnostics[f"weight_norm/{layer}"]  # [seeds, eval points]
            assert diag.shape == (3, 4)
            if rtol_check:
                np.testing.assert_allclose(diag, np.broadcast_to(np.asarray(norm0)[:, None],
                                                                 diag.shape), rtol=1e-4)
            drift = max(drift, float(np.max(np.abs(diag / np.asarray(norm0)[:, None] - 1))))
        if not rtol_check:
            assert drift > 0.05, drift  # fine-tuning's norms do move
