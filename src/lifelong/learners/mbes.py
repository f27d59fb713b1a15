"""OER's model-based experience selection (MBES): which of a finished task's transitions
enter the rehearsal memory, so that it follows the learned policy's state distribution
rather than the behaviour policy's.

1. A probabilistic dynamics ensemble is fitted on the task's dataset: each member maps
   (s, a) to a diagonal Gaussian over (s' - s, r), trained by Gaussian negative
   log-likelihood on its own bootstrap draws. Inputs and targets are standardized with the
   dataset's statistics.
2. Every dataset state's `neighbours` nearest dataset states (Euclidean) are found.
3. A walk through the dataset: at row i, the policy's action a = pi(s_i) and a random
   member's prediction N(mu, sigma) of (s' - s, r) score the transitions of the neighbours
   of s_i; the likeliest one, j, is kept, and the walk moves to the row that follows j in its
   episode (a random row after an episode's end). Kept rows are not kept twice: when every
   neighbour is taken, or the episode ends, the walk restarts at a random row not taken.

The walk thus strings together real transitions whose outcomes match what the learned
policy would do, which is the paper's selection; the successor rule (step 3's move to the
row after j) is this project's reading of "continue from the selected transition".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from lifelong.learners.replay import Transitions

BLOCK = 512  # dataset rows per block of the nearest-neighbour search


class GaussianMLP(nn.Module):
    """One ensemble member: (mean, log variance) of a diagonal Gaussian over `out_dim`."""

    hidden: tuple[int, ...]
    out_dim: int

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        for width in self.hidden:
            x = nn.swish(nn.Dense(width)(x))
        out = nn.Dense(2 * self.out_dim)(x)
        mean, log_var = jnp.split(out, 2, axis=-1)
        return mean, jnp.clip(log_var, -10.0, 4.0)


def _standardize(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def fit_ensemble(data: Transitions, options, key: jax.Array):
    """(model, stacked member params, input stats, target stats) fitted on `data`."""
    inputs = jnp.concatenate([data.obs, data.action], axis=-1)
    targets = jnp.concatenate([data.next_obs - data.obs, data.reward[:, None]], axis=-1)
    x_stats, y_stats = _standardize(inputs), _standardize(targets)
    x = (inputs - x_stats[0]) / x_stats[1]
    y = (targets - y_stats[0]) / y_stats[1]
    model = GaussianMLP(tuple(options.hidden), targets.shape[-1])
    tx = optax.adam(options.lr)
    key_init, key_train = jax.random.split(key)
    params = jax.vmap(model.init, in_axes=(0, None))(
        jax.random.split(key_init, options.members), x[:1])

    def nll(params, index):
        mean, log_var = model.apply(params, x[index])
        return (((y[index] - mean) ** 2) * jnp.exp(-log_var) + log_var).mean()

    def step(carry, key):
        params, opt_state = carry
        index = jax.random.randint(key, (options.members, options.batch_size), 0, x.shape[0])
        grads = jax.vmap(jax.grad(nll))(params, index)
        updates, opt_state = jax.vmap(tx.update)(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    opt_state = jax.vmap(tx.init)(params)
    (params, _), _ = jax.lax.scan(step, (params, opt_state),
                                  jax.random.split(key_train, options.steps))
    return model, params, x_stats, y_stats


def nearest(obs: jax.Array, k: int) -> jax.Array:
    """[N, k] indices of each row's k nearest rows of `obs` (itself first), by blocks."""
    n = obs.shape[0]
    k = min(k, n)
    pad = -n % BLOCK
    padded = jnp.concatenate([obs, jnp.zeros((pad, obs.shape[1]), obs.dtype)])
    squared = (obs**2).sum(-1)

    def block(rows: jax.Array) -> jax.Array:
        distance = (rows**2).sum(-1)[:, None] - 2 * rows @ obs.T + squared[None]
        return jax.lax.top_k(-distance, k)[1]

    return jax.lax.map(block, padded.reshape(-1, BLOCK, obs.shape[1])).reshape(-1, k)[:n]


def select(data: Transitions, successor: jax.Array, policy: Callable[[jax.Array], jax.Array],
           options: Any, count: int, key: jax.Array) -> jax.Array:
    """[count] dataset rows chosen by the walk (see the module docstring); `policy` maps
    observations [B, obs_dim] to actions."""
    n = data.reward.shape[0]
    count = min(count, n)
    key_fit, key_walk = jax.random.split(key)
    model, params, x_stats, y_stats = fit_ensemble(data, options, key_fit)
    neighbours = nearest(data.obs, options.neighbours)
    outcome = jnp.concatenate([data.next_obs - data.obs, data.reward[:, None]], axis=-1)
    outcome = (outcome - y_stats[0]) / y_stats[1]  # [N, obs_dim + 1]

    def restart(taken: jax.Array, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, jnp.where(taken, -jnp.inf, 0.0))

    def step(carry, key):
        row, taken = carry
        key_member, key_stuck, key_restart = jax.random.split(key, 3)
        obs = data.obs[row][None]
        x = (jnp.concatenate([obs, policy(obs)], axis=-1) - x_stats[0]) / x_stats[1]
        member = jax.random.randint(key_member, (), 0, options.members)
        mean, log_var = model.apply(jax.tree.map(lambda p: p[member], params), x)
        candidates = neighbours[row]
        z = (outcome[candidates] - mean) ** 2 * jnp.exp(-log_var)
        score = jnp.where(taken[candidates], -jnp.inf, -0.5 * z.sum(-1))
        chosen = jnp.where(jnp.isfinite(score.max()), candidates[jnp.argmax(score)],
                           restart(taken, key_stuck))
        taken = taken.at[chosen].set(True)
        following = successor[chosen]
        ok = (following >= 0) & ~taken[jnp.maximum(following, 0)]
        row = jnp.where(ok, following, restart(taken, key_restart))
        return (row, taken), chosen

    key_start, key_steps = jax.random.split(key_walk)
    start = jax.random.randint(key_start, (), 0, n)
    _, chosen = jax.lax.scan(step, (start, jnp.zeros(n, bool)),
                             jax.random.split(key_steps, count))
    return chosen
