"""OER's model-based experience selection: the neighbour search and the walk that keeps the
transitions a policy would take."""

import jax
import jax.numpy as jnp
import numpy as np

from lifelong.learners import mbes
from lifelong.learners.offline import MBESConfig
from lifelong.learners.replay import Transitions


def test_nearest_matches_a_brute_force_search():
    obs = jax.random.normal(jax.random.PRNGKey(0), (700, 3))  # two blocks, the last padded
    got = np.asarray(mbes.nearest(obs, 5))
    x = np.asarray(obs)
    distance = ((x[:, None] - x[None]) ** 2).sum(-1)
    want = np.argsort(distance, axis=1)[:, :5]
    assert got.shape == (700, 5)
    assert (got[:, 0] == np.arange(700)).all()  # a row is its own nearest neighbour
    assert all(set(g) == set(w) for g, w in zip(got, want))


def _line_dataset(episodes: int = 40, steps: int = 50):
    """States on a line; each step's action is +1 or -1 at random and moves the state by
    0.1 * action; the reward is the state."""
    rng = np.random.default_rng(0)
    obs, action, next_obs = [], [], []
    for _ in range(episodes):
        s = rng.uniform(-1, 1)
        for _ in range(steps):
            a = rng.choice([-1.0, 1.0])
            obs.append([s])
            action.append([a])
            s = s + 0.1 * a
            next_obs.append([s])
    obs, action, next_obs = (np.asarray(x, np.float32) for x in (obs, action, next_obs))
    n = len(obs)
    ends = np.arange(n) % steps == steps - 1
    data = Transitions(jnp.asarray(obs), jnp.asarray(action), jnp.asarray(obs[:, 0]),
                       jnp.asarray(next_obs), jnp.zeros(n), jnp.zeros(n, jnp.int32))
    successor = jnp.asarray(np.where(ends, -1, np.arange(1, n + 1)), jnp.int32)
    return data, successor


def test_selection_keeps_the_transitions_the_policy_would_take():
    data, successor = _line_dataset()
    options = MBESConfig(members=3, hidden=[32, 32], steps=600, neighbours=16)
    policy = lambda obs: jnp.ones((obs.shape[0], 1))  # noqa: E731  (always +1)
    chosen = np.asarray(mbes.select(data, successor, policy, options, 300,
                                    jax.random.PRNGKey(1)))
    actions = np.asarray(data.action)[chosen, 0]
    assert len(np.unique(chosen)) == 300  # no transition is kept twice
    # The dataset's actions are half +1: uniform selection keeps about half of them.
    assert (np.asarray(data.action)[:, 0] > 0).mean() < 0.55
    assert (actions > 0).mean() > 0.9
    # The walk strings transitions together: each kept one mostly starts where the previous
    # one ended (random pairs of states are about 0.7 apart).
    gap = np.abs(np.asarray(data.obs)[chosen[1:], 0] - np.asarray(data.next_obs)[chosen[:-1], 0])
    assert np.median(gap) < 0.05
