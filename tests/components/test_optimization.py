"""Optimization family: A-GEM's projection and GPM's bases and projection (unit tests on
small arrays), and their effect on the forgetting probe."""

from dataclasses import replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import probe_component, significantly_less

from lifelong import config
from lifelong.components import AgentSpec, Batch, make_component
from lifelong.components.optimization import agem, gpm
from lifelong.errors import ConfigError
from lifelong.learners.distributions import Categorical
from lifelong.learners.networks import ActorCritic, features


def _component(options: str):
    study = config.load(None, [f"agents={{a: {{components: [{options}]}}}}"])
    return make_component(study.agents[0].components[0])


def _spec(num_heads=1):
    network = ActorCritic(2, True, (8, 8), num_heads=num_heads)
    spec = AgentSpec(3, 2, True, 2, apply=network.apply, distribution=Categorical(),
                     features=partial(features, network),
                     hidden_layers=network.hidden_layers(), updates_per_task=10)
    params = network.init(jax.random.PRNGKey(0), jnp.zeros((1, 3)), jnp.int32(0))
    return spec, params


def _tree(key, like):
    leaves, tree = jax.tree.flatten(like)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(tree, [jax.random.normal(k, x.shape) for x, k in zip(leaves, keys)])


def _batch(spec, key, rows=64, task_id=0):
    obs = jax.random.normal(key, (rows, spec.obs_dim)) * jnp.array([1.0, 0.3, 0.05])
    return Batch(obs, jnp.zeros(rows, jnp.int32), jnp.int32(task_id))


def test_agem_projects_conflicting_gradients_onto_the_reference_plane():
    _, params = _spec()
    g_ref = _tree(jax.random.PRNGKey(1), params)
    g = _tree(jax.random.PRNGKey(2), params)
    g = jax.tree.map(lambda x, r: x - 3.0 * r, g, g_ref)  # |g_ref|^2 dominates g . g_ref
    assert float(agem.tree_dot(g, g_ref)) < 0
    projected = agem.project(g, g_ref)
    cosine = agem.tree_dot(projected, g_ref) / agem.tree_dot(g_ref, g_ref)
    assert abs(float(cosine)) < 1e-5
    # Only the component along g_ref was removed.
    removed = jax.tree.map(lambda a, b: a - b, g, projected)
    scale = agem.tree_dot(g, g_ref) / agem.tree_dot(g_ref, g_ref)
    for r, ref in zip(jax.tree.leaves(removed), jax.tree.leaves(g_ref)):
        np.testing.assert_allclose(r, scale * ref, rtol=1e-4, atol=1e-6)
    # Aligned or orthogonal gradients, or an inactive memory, leave g unchanged, bit for bit.
    aligned = jax.tree.map(lambda x: -x, g)
    for kept, active in ((aligned, True), (g, False)):
        for a, b in zip(jax.tree.leaves(agem.project(kept, g_ref, active)),
                        jax.tree.leaves(kept)):
            np.testing.assert_array_equal(a, b)


def test_agem_transformation_uses_its_memory_by_name():
    spec, params = _spec()
    component = _component("agem")
    assert component.requires_boundaries
    state = component.init(jax.random.PRNGKey(0), params, spec)
    tx = component.grad_tx(spec)
    g = _tree(jax.random.PRNGKey(3), params)
    batch = _batch(spec, jax.random.PRNGKey(4))

    def update(state):
        out, _ = tx.update(g, tx.init(params), params, components={"agem": state, "other": {}},
                           batch=batch, key=jax.random.PRNGKey(5))
        return out

    for a, b in zip(jax.tree.leaves(update(state)), jax.tree.leaves(g)):  # empty memory
        np.testing.assert_array_equal(a, b)
    # Remember the outputs of other parameters: the current ones now have a memory loss,
    # and a gradient step that increases it gets projected.
    old = _tree(jax.random.PRNGKey(6), params)
    state = component.on_task_end(state, old, batch, spec, jax.random.PRNGKey(7))
    g_ref = jax.grad(agem.memory_loss)(params, state, spec, jax.random.PRNGKey(5), 256)
    ascent = jax.tree.map(lambda r: -r, g_ref)
    out, _ = tx.update(ascent, tx.init(params), params, components={"agem": state},
                       batch=batch, key=jax.random.PRNGKey(5))
    assert abs(float(agem.tree_dot(out, g_ref))) < 1e-4 * float(agem.tree_dot(g_ref, g_ref))


def test_gpm_energy_criterion_adds_the_fewest_directions():
    # Inputs with singular values 10, 5, 2, 1, 0.5: energy shares .768, .960, .990, .998, 1.
    u = np.linalg.qr(np.random.default_rng(0).normal(size=(5, 5)))[0]
    v = np.linalg.qr(np.random.default_rng(1).normal(size=(40, 5)))[0]
    inputs = jnp.asarray(v @ np.diag([10, 5, 2, 1, 0.5]) @ u.T, jnp.float32)  # [40, 5]
    empty = jnp.zeros((5, 5))
    counts = [int(gpm.update_basis(empty, jnp.int32(0), inputs, jnp.float32(t))[1])
              for t in (0.5, 0.9, 0.97, 0.995, 1.0)]
    assert counts == [1, 2, 3, 4, 5]
    basis, count = gpm.update_basis(empty, jnp.int32(0), inputs, jnp.float32(0.97))
    np.testing.assert_allclose(np.abs(basis[:, :3].T @ u[:, :3]), np.eye(3), atol=1e-4)
    np.testing.assert_array_equal(basis[:, 3:], 0)
    # The same inputs again are already captured: nothing is added; a stricter threshold
    # adds only what is missing, orthogonal to what is there.
    again, count_again = gpm.update_basis(basis, count, inputs, jnp.float32(0.97))
    assert int(count_again) == 3
    np.testing.assert_array_equal(again, basis)
    more, count_more = gpm.update_basis(basis, count, inputs, jnp.float32(0.995))
    assert int(count_more) == 4
    np.testing.assert_allclose(more.T @ more, np.diag([1, 1, 1, 1, 0]), atol=1e-5)


def _project_after_task(component, state, spec, params):
    """Ends a task on a random batch, then projects a random gradient: (state, gradient,
    projected gradient)."""
    state = component.on_task_end(state, params, _batch(spec, jax.random.PRNGKey(1)), spec,
                                  jax.random.PRNGKey(2))
    tx = component.grad_tx(spec)
    g = _tree(jax.random.PRNGKey(3), params)
    projected, _ = tx.update(g, tx.init(params), params, components={"gpm": state},
                             batch=None, key=None)
    return state, g, projected


def test_gpm_bases_are_orthonormal_and_projected_gradients_orthogonal_to_them():
    spec, params = _spec(num_heads=2)  # multihead: output kernels hold per-task columns
    component = _component("gpm")
    assert component.requires_boundaries
    state = component.init(jax.random.PRNGKey(0), params, spec)
    assert set(state["basis"]) == {"actor_0", "actor_1", "actor_out", "critic_0",
                                   "critic_1", "critic_out"}
    assert state["basis"]["actor_0"].shape == (4, 4)  # obs_dim 3 + the bias input
    assert state["basis"]["actor_1"].shape == (9, 9)  # width 8 + the bias input
    state, g, projected = _project_after_task(component, state, spec, params)
    for name, basis in state["basis"].items():
        count = int(state["count"][name])
        assert 0 < count < basis.shape[0], (name, count)
        np.testing.assert_allclose(basis.T @ basis, np.diag(np.arange(basis.shape[0]) < count),
                                   atol=1e-5)
        layer = projected["params"][name]
        joint = jnp.concatenate([layer["kernel"], layer["bias"][None]], axis=0)
        assert float(jnp.abs(basis.T @ joint).max()) < 1e-5
        original = jnp.concatenate([g["params"][name]["kernel"], g["params"][name]["bias"][None]])
        assert float(jnp.abs(basis.T @ original).max()) > 1e-2  # there was something to remove
    # The representation the basis keeps: inputs of task 1 hardly move under a projected step.
    stepped = jax.tree.map(lambda p, u: p - 0.1 * u, params, projected)
    free = jax.tree.map(lambda p, u: p - 0.1 * u, params, g)
    obs = _batch(spec, jax.random.PRNGKey(1)).obs
    before = spec.apply(params, obs, jnp.int32(0))[1]
    assert (float(jnp.abs(spec.apply(stepped, obs, jnp.int32(0))[1] - before).mean())
            < 0.2 * float(jnp.abs(spec.apply(free, obs, jnp.int32(0))[1] - before).mean()))


def test_gpm_basis_grows_with_the_threshold():
    spec, params = _spec()
    batch = _batch(spec, jax.random.PRNGKey(1), rows=256)
    totals = []
    for threshold in (0.8, 0.95, 0.999):
        component = _component(f"{{name: gpm, threshold: {threshold}}}")
        state = component.init(jax.random.PRNGKey(0), params, spec)
        state = component.on_task_end(state, params, batch, spec, jax.random.PRNGKey(2))
        totals.append(sum(int(c) for c in state["count"].values()))
    assert totals[0] < totals[1] < totals[2], totals


def test_gpm_without_bias_projection_leaves_biases_free():
    spec, params = _spec()
    component = _component("{name: gpm, project_bias: false}")
    state = component.init(jax.random.PRNGKey(0), params, spec)
    assert state["basis"]["actor_0"].shape == (3, 3)
    state, g, projected = _project_after_task(component, state, spec, params)
    for name, basis in state["basis"].items():
        np.testing.assert_array_equal(projected["params"][name]["bias"],
                                      g["params"][name]["bias"])
        assert float(jnp.abs(basis.T @ projected["params"][name]["kernel"]).max()) < 1e-5


def test_gpm_refuses_a_network_without_hidden_layers_and_bad_thresholds():
    spec, params = _spec()
    with pytest.raises(ConfigError, match="hidden layers"):
        _component("gpm").init(jax.random.PRNGKey(0), params, replace(spec, hidden_layers=()))
    with pytest.raises(ConfigError, match="threshold"):
        _component("{name: gpm, threshold: 1.5}")
    with pytest.raises(ConfigError, match="batch_size"):
        _component("{name: agem, batch_size: 0}")


@pytest.mark.parametrize("name", ["agem", "gpm"])
def test_projection_forgets_less_than_finetuning(name, finetune_forgetting):
    forgetting, learned = probe_component(f"[{name}]")
    assert learned.mean() > 200, learned  # the first task is learned (nothing to protect yet)
    assert significantly_less(forgetting, finetune_forgetting), (forgetting,
                                                                 finetune_forgetting)
