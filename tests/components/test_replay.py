"""Replay family: the shared reservoir memory (fill order, count, collisions, uniformity,
empty sampling), the reservoir (DER) and CLEAR losses, and their effect on the forgetting
probe."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import probe_component, significantly_less

from lifelong import config
from lifelong.components import AgentSpec, Batch, LearnerState, make_component
from lifelong.components.replay import memory
from lifelong.errors import ConfigError
from lifelong.learners.distributions import Categorical, DiagGaussian
from lifelong.learners.networks import ActorCritic, features


def _spec(discrete=True, num_heads=1, obs_dim=3, action_dim=2):
    network = ActorCritic(action_dim, discrete, (8, 8), num_heads=num_heads)
    spec = AgentSpec(obs_dim, action_dim, discrete, 2, apply=network.apply,
                     distribution=Categorical() if discrete else DiagGaussian(),
                     features=partial(features, network),
                     hidden_layers=network.hidden_layers(), updates_per_task=10)
    params = network.init(jax.random.PRNGKey(0), jnp.zeros((1, obs_dim)), jnp.int32(0))
    return spec, params


def _perturbed(params, scale=0.5):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(99), len(leaves))
    return jax.tree.unflatten(tree, [p + scale * jax.random.normal(k, p.shape)
                                     for p, k in zip(leaves, keys)])


def _items(start, count, spec):
    """Items whose obs, head, value and task id all encode their stream index."""
    index = (start + jnp.arange(count)).astype(jnp.float32)
    obs = jnp.repeat(index[:, None], spec.obs_dim, axis=1)
    head = jnp.repeat(index[:, None], spec.action_dim, axis=1)
    return obs, head, index, index.astype(jnp.int32)


def test_memory_fills_slots_in_stream_order_and_counts():
    spec, _ = _spec()
    mem = memory.init(5, spec)
    assert int(memory.filled(mem)) == 0
    mem = memory.add(mem, *_items(0, 3, spec), jax.random.PRNGKey(1))
    assert int(mem.seen) == 3 and int(memory.filled(mem)) == 3
    mem = memory.add(mem, *_items(3, 2, spec), jax.random.PRNGKey(2))
    assert int(mem.seen) == 5 and int(memory.filled(mem)) == 5
    np.testing.assert_array_equal(mem.value, np.arange(5))
    np.testing.assert_array_equal(mem.obs[:, 0], np.arange(5))
    np.testing.assert_array_equal(mem.head[:, 1], np.arange(5))
    np.testing.assert_array_equal(mem.task_id, np.arange(5))
    mem = memory.add(mem, *_items(5, 7, spec), jax.random.PRNGKey(3))
    assert int(mem.seen) == 12 and int(memory.filled(mem)) == 5
    # Rows stay consistent: every field of a slot comes from the same item.
    np.testing.assert_array_equal(mem.obs[:, 0], mem.value)
    np.testing.assert_array_equal(mem.task_id, mem.value.astype(int))


def test_batched_add_is_sequential_algorithm_r_with_later_items_winning():
    # A full memory of 4 and a batch of 50: many items draw the same slot.
    spec, _ = _spec()
    mem = memory.add(memory.init(4, spec), *_items(0, 4, spec), jax.random.PRNGKey(0))
    key = jax.random.PRNGKey(7)
    slots = np.asarray(memory.slots(mem.seen, 50, 4, key))
    assert len(set(slots[slots < 4])) < np.sum(slots < 4)  # there are collisions
    expected = list(np.asarray(mem.value))
    for i, slot in enumerate(slots):  # item 4 + i, one at a time
        if slot < 4:
            expected[slot] = 4 + i
    after = memory.add(mem, *_items(4, 50, spec), key)
    np.testing.assert_array_equal(after.value, expected)
    # Draws follow algorithm R: item n lands in U{0..n}, kept iff the draw is < size.
    assert np.all((slots <= 4 + np.arange(50)) | (slots == 4))


def test_reservoir_keeps_a_uniform_sample_of_a_long_stream():
    # 200 independent streams of 2000 items in batches of 10 into 100 slots: each tenth of
    # the stream should make up a tenth of the memory.
    spec, _ = _spec()
    size, length, batch = 100, 2000, 10

    def stream(key):
        def step(mem, inputs):
            start, k = inputs
            return memory.add(mem, *_items(start, batch, spec), k), None

        starts = jnp.arange(0, length, batch)
        mem, _ = jax.lax.scan(step, memory.init(size, spec),
                              (starts, jax.random.split(key, starts.shape[0])))
        return mem.value

    kept = np.asarray(jax.jit(jax.vmap(stream))(jax.random.split(jax.random.PRNGKey(0), 200)))
    assert len(set(kept[0])) == size  # no item is kept twice
    share = np.bincount((kept // (length // 10)).astype(int).ravel(), minlength=10) / kept.size
    np.testing.assert_allclose(share, 0.1, atol=0.01)
    assert abs(kept.mean() - (length - 1) / 2) < 0.02 * length


def test_sampling_an_empty_memory_is_safe_and_weighted_zero():
    spec, params = _spec(discrete=False)
    replay = memory.sample(memory.init(6, spec), 8, jax.random.PRNGKey(0))
    assert float(replay.valid) == 0.0 and replay.obs.shape == (8, spec.obs_dim)
    assert all(np.all(np.asarray(x) == 0) for x in jax.tree.leaves(replay))
    kl, value_error = memory.cloning_loss(spec, params, replay)
    assert float(kl) == 0.0 and float(value_error) == 0.0
    grads = jax.grad(lambda p: sum(memory.cloning_loss(spec, p, replay)))(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


def test_sampling_draws_only_filled_slots():
    spec, _ = _spec()
    mem = memory.add(memory.init(10, spec), *_items(0, 3, spec), jax.random.PRNGKey(0))
    replay = memory.sample(mem, 500, jax.random.PRNGKey(1))
    assert float(replay.valid) == 1.0
    assert set(np.asarray(replay.value).tolist()) == {0.0, 1.0, 2.0}


@pytest.mark.parametrize("discrete", [True, False])
def test_recorded_outputs_clone_to_zero_loss(discrete):
    # Items recorded with the current network have zero cloning loss (per-row task ids and
    # per-task heads included); another network has a positive one.
    spec, params = _spec(discrete, num_heads=2)
    obs = jax.random.normal(jax.random.PRNGKey(0), (16, spec.obs_dim))
    mem = memory.record(memory.init(32, spec), spec, params, obs, jnp.arange(16) % 2, 16,
                        jax.random.PRNGKey(1))
    replay = memory.sample(mem, 64, jax.random.PRNGKey(2))
    kl, value_error = memory.cloning_loss(spec, params, replay)
    assert abs(float(kl)) < 1e-5 and float(value_error) < 1e-8
    other = _perturbed(params)
    kl, value_error = memory.cloning_loss(spec, other, replay)
    assert float(kl) > 1e-3 and float(value_error) > 1e-3


def test_reservoir_fills_after_every_step_and_penalizes_changed_outputs():
    spec, params = _spec()
    component = make_component(config.load(None, [
        "agents={a: {components: [{name: reservoir, per_step: 3, strength: 2.0}]}}"
    ]).agents[0].components[0])
    assert not component.requires_boundaries and not component.requires_task_id
    state = component.init(jax.random.PRNGKey(0), params, spec)
    batch = Batch(jax.random.normal(jax.random.PRNGKey(1), (16, spec.obs_dim)),
                  jnp.zeros(16, jnp.int32), jnp.int32(1))
    assert float(component.penalty(params, state, batch, spec, jax.random.PRNGKey(2))) == 0.0
    learner = LearnerState(params, None)
    for i in range(2):
        learner, state = component.after_update(learner, state, batch, spec,
                                                jax.random.PRNGKey(i))
    assert int(state["memory"].seen) == 6 and set(np.asarray(state["memory"].task_id[:6])) == {1}
    assert float(component.penalty(params, state, batch, spec, jax.random.PRNGKey(2))) < 1e-8
    other = _perturbed(params)
    assert float(component.penalty(other, state, batch, spec, jax.random.PRNGKey(2))) > 1e-3


def test_clear_fills_at_task_end_and_needs_boundaries():
    spec, params = _spec()
    component = make_component(config.load(None, [
        "agents={a: {components: [{name: clear, per_task: 10}]}}"]).agents[0].components[0])
    assert component.requires_boundaries and component.after_update is None
    state = component.init(jax.random.PRNGKey(0), params, spec)
    batch = Batch(jax.random.normal(jax.random.PRNGKey(1), (16, spec.obs_dim)),
                  jnp.zeros(16, jnp.int32), jnp.int32(0))
    state = component.on_task_end(state, params, batch, spec, jax.random.PRNGKey(2))
    assert int(state["memory"].seen) == 10
    other = _perturbed(params)
    assert float(component.penalty(other, state, batch, spec, jax.random.PRNGKey(3))) > 1e-3


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="size"):
        config.load(None, ["agents={a: {components: [{name: reservoir, size: 0}]}}"])
    with pytest.raises(ConfigError, match="value_cloning"):
        config.load(None, ["agents={a: {components: [{name: clear, value_cloning: -1}]}}"])


@pytest.mark.parametrize("name", ["reservoir", "clear"])
def test_replay_forgets_less_than_finetuning(name, finetune_forgetting):
    forgetting, learned = probe_component(f"[{name}]")
    assert learned.mean() > 200, learned  # it learned the first task, with its replay on
    assert significantly_less(forgetting, finetune_forgetting), (forgetting,
                                                                 finetune_forgetting)
