"""The off-policy replay buffer: FIFO order, the validity mask, reservoir and per-task
sampling, and the whole-row layout."""

import jax
import jax.numpy as jnp
import numpy as np

from lifelong.learners import replay
from lifelong.learners.replay import Transitions


def rows(values, task_id=0, discrete=True) -> Transitions:
    v = jnp.asarray(values, jnp.float32)
    n = v.shape[0]
    action = v.astype(jnp.int32) if discrete else jnp.stack([v, -v], axis=1)
    return Transitions(v[:, None] * jnp.ones((n, 3)), action, v, v[:, None] + jnp.ones((n, 3)),
                       (v > 100).astype(jnp.float32), jnp.full(n, task_id, jnp.int32))


def stored(buffer) -> np.ndarray:
    """Rewards of the held rows, in slot order."""
    held = int(replay.filled(buffer).sum())
    return np.asarray(buffer.data[:held, 4])  # obs (3), action (1), reward


def test_fifo_overwrites_the_oldest_and_skips_invalid_rows():
    buffer = replay.init(4, 1, 3, (), True)
    key = jax.random.PRNGKey(0)
    buffer = replay.add(buffer, rows([1, 2, 3]), jnp.array([True, False, True]), "fifo", key)
    assert int(replay.filled(buffer)[0]) == 2
    np.testing.assert_array_equal(stored(buffer), [1, 3])
    buffer = replay.add(buffer, rows([4, 5, 6]), jnp.ones(3, bool), "fifo", key)
    assert int(replay.filled(buffer)[0]) == 4
    np.testing.assert_array_equal(np.asarray(buffer.data[:, 4]), [6, 3, 4, 5])  # 1 is gone


def test_sample_unpacks_rows_exactly():
    for discrete in (True, False):
        buffer = replay.init(8, 1, 3, () if discrete else (2,), discrete)
        source = rows([0, 1, 2, 150], task_id=3, discrete=discrete)
        buffer = replay.add(buffer, source, jnp.ones(4, bool), "fifo", jax.random.PRNGKey(0))
        sample = replay.sample(buffer, 64, jax.random.PRNGKey(1))
        index = np.asarray(sample.reward).astype(int)
        index[index == 150] = 3
        for got, want in zip(sample, source):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want)[index])


def test_reservoir_keeps_every_row_with_equal_probability():
    seeds = 300
    add = jax.jit(jax.vmap(lambda b, r, k: replay.add(b, r, jnp.ones(4, bool), "reservoir", k),
                           in_axes=(0, None, 0)))
    buffer = jax.vmap(lambda _: replay.init(10, 1, 3, (), True))(jnp.arange(seeds))
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    for start in range(0, 40, 4):
        keys = jax.vmap(lambda k: jax.random.split(k)[0])(keys)
        buffer = add(buffer, rows(np.arange(start, start + 4)), keys)
    held = np.asarray(buffer.data[:, :, 4]).astype(int)  # [seeds, 10] row ids
    assert all(len(set(h)) == 10 for h in held)  # no row twice
    share = np.bincount(held.ravel(), minlength=40) / seeds  # each: 10 / 40
    assert abs(share[:20].mean() - share[20:].mean()) < 0.05
    assert np.all(np.abs(share - 0.25) < 0.12)


def test_per_task_buffers_serve_every_seen_task_equally():
    buffer = replay.init(300, 3, 3, (), True)
    key = jax.random.PRNGKey(0)
    buffer = replay.add(buffer, rows(np.zeros(100), task_id=0), jnp.ones(100, bool),
                        "per_task", key)
    buffer = replay.add(buffer, rows(np.ones(5), task_id=2), jnp.ones(5, bool), "per_task", key)
    sample = replay.sample(buffer, 4000, jax.random.PRNGKey(1))
    tasks = np.asarray(sample.task_id)
    assert set(np.unique(tasks)) == {0, 2}  # task 1 has no rows
    assert abs((tasks == 2).mean() - 0.5) < 0.05  # 5 rows of task 2 weigh as its 100 of task 0
    cleared = replay.clear(buffer)
    assert int(replay.filled(cleared).sum()) == 0
