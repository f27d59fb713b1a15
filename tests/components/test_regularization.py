"""Regularization components (mas, si, distill, logit_swap): the math on hand-made arrays,
and the effect on the forgetting probe against fine-tuning (same keys, 4 seeds)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import probe_forgetting, significantly_less
from pydantic import ValidationError

from lifelong.components import COMPONENTS, AgentSpec, Batch, LearnerState, make_component
from lifelong.components.regularization.logit_swap import logit_swap_loss, swap_logits
from lifelong.components.regularization.mas import mas_importance
from lifelong.errors import ConfigError
from lifelong.learners.distributions import Categorical, DiagGaussian

KEY = jax.random.PRNGKey(0)


def _linear_spec(discrete=True, num_tasks=1):
    """A linear 'network': logits = obs @ W[task], value = obs @ v."""

    def apply(params, obs, task_id):
        logits = obs @ params["W"][task_id % num_tasks]
        value = obs @ params["v"]
        return (logits if discrete else (logits, jnp.zeros_like(logits))), value

    distribution = Categorical() if discrete else DiagGaussian()
    return AgentSpec(2, 2, discrete, num_tasks, apply, distribution, lambda p, o, t: {}, (), 1)


def _component(name, **options):
    return make_component(COMPONENTS[name].options(name=name, **options))


# --- MAS ----------------------------------------------------------------------------------


def test_mas_importance_of_a_linear_network_in_closed_form():
    # ||F||^2 = ||W^T x||^2 + (v.x)^2, so d/dW_ij = 2 x_i (W^T x)_j and d/dv_i = 2 x_i (v.x).
    params = {"W": jnp.eye(2)[None], "v": jnp.array([1.0, 1.0])}
    obs = jnp.array([[1.0, 2.0], [-1.0, 0.0]])
    omega = mas_importance(_linear_spec(), params, obs, jnp.int32(0))
    # x1: |2 x x^T| = [[2, 4], [4, 8]], x2: [[2, 0], [0, 0]]; mean -> [[2, 2], [2, 4]].
    np.testing.assert_allclose(omega["W"][0], [[2.0, 2.0], [2.0, 4.0]], rtol=1e-6)
    # v.x1 = 3 -> |2 x1 * 3| = [6, 12]; v.x2 = -1 -> [2, 0]; mean -> [4, 6].
    np.testing.assert_allclose(omega["v"], [4.0, 6.0], rtol=1e-6)


def test_mas_accumulates_importance_and_anchors_at_task_end():
    spec = _linear_spec()
    params = {"W": jnp.eye(2)[None], "v": jnp.array([1.0, 1.0])}
    batch = Batch(jnp.array([[1.0, 2.0], [-1.0, 0.0]]), jnp.zeros(2, jnp.int32), jnp.int32(0))
    component = _component("mas", strength=0.5, decay=0.5)
    state = component.init(KEY, params, spec)
    moved = jax.tree.map(lambda p: p + 1.0, params)
    assert component.penalty(moved, state, batch, spec, KEY) == 0.0  # first task: off
    state = component.on_task_end(state, params, batch, spec, KEY)
    state = component.on_task_end(state, params, batch, spec, KEY)
    np.testing.assert_allclose(state["importance"]["v"], 1.5 * np.array([4.0, 6.0]), rtol=1e-6)
    # 0.5 * sum(Omega * 1^2) with Omega = 1.5 * ([[2, 2], [2, 4]] and [4, 6]).
    expected = 0.5 * 1.5 * (10.0 + 10.0)
    np.testing.assert_allclose(component.penalty(moved, state, batch, spec, KEY), expected,
                               rtol=1e-6)


# --- SI -----------------------------------------------------------------------------------


def _adam_learner(params):
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=0.1, eps=1e-5)
    tx = optax.named_chain(("clip", optax.clip_by_global_norm(10.0)), ("adam", adam))
    return tx, LearnerState(params, tx.init(params))


def _adam_step(tx, learner, grads, move=True):
    updates, opt_state = tx.update(grads, learner.opt_state, learner.params)
    params = optax.apply_updates(learner.params, updates) if move else learner.params
    return LearnerState(params, opt_state), updates


def test_si_importance_is_zero_when_parameters_do_not_move():
    spec = _linear_spec()
    params = {"W": jnp.ones((1, 2, 2)), "v": jnp.array([1.0, -1.0])}
    batch = Batch(jnp.ones((2, 2)), jnp.zeros(2, jnp.int32), jnp.int32(0))
    component = _component("si")
    tx, learner = _adam_learner(params)
    state = component.init(KEY, params, spec)
    grads = {"W": jnp.full((1, 2, 2), 0.3), "v": jnp.array([0.5, -2.0])}
    for _ in range(3):  # the optimizer sees gradients, but the parameters stay put
        learner, _ = _adam_step(tx, learner, grads, move=False)
        learner, state = component.after_update(learner, state, batch, spec, KEY)
    state = component.on_task_end(state, learner.params, batch, spec, KEY)
    for leaf in jax.tree.leaves(state["omega"]):
        np.testing.assert_array_equal(leaf, 0.0)


def test_si_path_integral_uses_the_gradient_and_the_step_taken():
    spec = _linear_spec()
    params = {"W": jnp.ones((1, 2, 2)), "v": jnp.array([1.0, -1.0])}
    batch = Batch(jnp.ones((2, 2)), jnp.zeros(2, jnp.int32), jnp.int32(0))
    component = _component("si", xi=0.1)
    tx, learner = _adam_learner(params)
    state = component.init(KEY, params, spec)
    grads = [{"W": jnp.full((1, 2, 2), 0.3), "v": jnp.array([0.5, -2.0])},
             {"W": jnp.full((1, 2, 2), -0.1), "v": jnp.array([1.5, 1.0])}]
    expected = jax.tree.map(jnp.zeros_like, params)
    for g in grads:
        learner, updates = _adam_step(tx, learner, g)
        learner, state = component.after_update(learner, state, batch, spec, KEY)
        expected = jax.tree.map(lambda e, g_, u: e - g_ * u, expected, g, updates)
    for got, want in zip(jax.tree.leaves(state["w"]), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    state = component.on_task_end(state, learner.params, batch, spec, KEY)
    travelled = jax.tree.map(lambda a, b: (a - b) ** 2, learner.params, params)
    for omega, w, d in zip(*(jax.tree.leaves(t) for t in (state["omega"], expected,
                                                          travelled))):
        np.testing.assert_allclose(omega, np.maximum(w / (d + 0.1), 0.0), rtol=1e-4,
                                   atol=1e-7)
    assert all(np.all(leaf == 0) for leaf in jax.tree.leaves(state["w"]))  # reset


# --- distill and logit_swap ---------------------------------------------------------------


def test_distill_matches_the_old_task_head_only_after_the_first_task():
    spec = _linear_spec(num_tasks=2)
    params = {"W": jax.random.normal(KEY, (2, 2, 2)), "v": jnp.array([1.0, -1.0])}
    obs = jax.random.normal(jax.random.PRNGKey(1), (8, 2))
    component = _component("distill", strength=2.0)
    state = component.init(KEY, params, spec)
    second = Batch(obs, jnp.zeros(8, jnp.int32), jnp.int32(1))
    moved = {**params, "W": params["W"] + 1.0}
    assert component.penalty(moved, state, second, spec, KEY) == 0.0  # no teacher yet
    state = component.on_task_end(state, params, Batch(obs, second.actions, jnp.int32(0)),
                                  spec, KEY)
    assert state["teacher_task"] == 0
    assert component.penalty(params, state, second, spec, KEY) == 0.0
    # The teacher's head (task 0) is compared: moving head 1 costs nothing, head 0 does.
    head1 = {**params, "W": params["W"].at[1].add(1.0)}
    head0 = {**params, "W": params["W"].at[0].add(1.0)}
    assert component.penalty(head1, state, second, spec, KEY) == 0.0
    kl = Categorical.kl(obs @ params["W"][0], obs @ head0["W"][0]).mean()
    np.testing.assert_allclose(component.penalty(head0, state, second, spec, KEY), 2.0 * kl,
                               rtol=1e-5)


def test_logit_swap_on_a_hand_made_logit_vector():
    logits = jnp.array([1.0, 3.0, 2.0, 0.5])
    np.testing.assert_array_equal(swap_logits(logits, jnp.int32(0)), [3.0, 1.0, 2.0, 0.5])
    np.testing.assert_array_equal(swap_logits(logits, jnp.int32(1)), logits)  # already top
    batch = jnp.stack([logits, logits[::-1]])
    np.testing.assert_array_equal(swap_logits(batch, jnp.array([2, 3])),
                                  [[1.0, 2.0, 3.0, 0.5], [0.5, 2.0, 1.0, 3.0]])
    # The loss is the KL to the swapped distribution; its gradient raises the gold logit.
    p, q = jax.nn.softmax(jnp.array([3.0, 1.0, 2.0, 0.5])), jax.nn.softmax(logits)
    np.testing.assert_allclose(logit_swap_loss(logits, jnp.int32(0)),
                               jnp.sum(p * jnp.log(p / q)), rtol=1e-5)
    grad = jax.grad(logit_swap_loss)(logits, jnp.int32(0))
    assert grad[0] < 0 < grad[1]
    assert logit_swap_loss(logits, jnp.int32(1)) == 0.0


def test_logit_swap_needs_discrete_actions():
    params = {"W": jnp.ones((1, 2, 2)), "v": jnp.ones(2)}
    with pytest.raises(ConfigError, match="discrete"):
        _component("logit_swap").init(KEY, params, _linear_spec(discrete=False))


@pytest.mark.parametrize("name, bad", [("mas", {"strength": -1.0}), ("mas", {"decay": 2.0}),
                                       ("si", {"xi": 0.0}), ("distill", {"strength": -1.0}),
                                       ("logit_swap", {"strength": -0.1})])
def test_bad_options_are_refused(name, bad):
    with pytest.raises(ValidationError):
        COMPONENTS[name].options(name=name, **bad)


# --- effect on the forgetting probe -------------------------------------------------------


@pytest.mark.parametrize("name", ["mas", "si", "distill", "logit_swap"])
def test_forgets_less_than_finetuning_with_default_options(name, finetune_forgetting):
    forgetting = probe_forgetting(f"{{{name}: {{components: [{name}]}}}}")[name]
    assert significantly_less(forgetting, finetune_forgetting), (forgetting,
                                                                  finetune_forgetting)
