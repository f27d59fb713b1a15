"""Action distributions of the policy head: pure functions of the head's output."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Categorical(NamedTuple):
    """Discrete actions; the head outputs logits [..., num_actions]."""

    @staticmethod
    def sample(logits: jax.Array, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, logits)

    @staticmethod
    def mode(logits: jax.Array) -> jax.Array:
        return jnp.argmax(logits, axis=-1)

    @staticmethod
    def log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
        log_p = jax.nn.log_softmax(logits)
        return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), -1)[..., 0]

    @staticmethod
    def entropy(logits: jax.Array) -> jax.Array:
        log_p = jax.nn.log_softmax(logits)
        return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)

    @staticmethod
    def kl(p_logits: jax.Array, q_logits: jax.Array) -> jax.Array:
        """KL(p || q) per state."""
        log_p, log_q = jax.nn.log_softmax(p_logits), jax.nn.log_softmax(q_logits)
        return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


class DiagGaussian(NamedTuple):
    """Continuous actions; the head outputs (mean, log_std), each [..., action_dim]."""

    @staticmethod
    def sample(head: tuple[jax.Array, jax.Array], key: jax.Array) -> jax.Array:
        mean, log_std = head
        return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)

    @staticmethod
    def mode(head: tuple[jax.Array, jax.Array]) -> jax.Array:
        return head[0]

    @staticmethod
    def log_prob(head: tuple[jax.Array, jax.Array], action: jax.Array) -> jax.Array:
        mean, log_std = head
        z = (action - mean) / jnp.exp(log_std)
        return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)

    @staticmethod
    def entropy(head: tuple[jax.Array, jax.Array]) -> jax.Array:
        _, log_std = head
        return jnp.sum(log_std + 0.5 * jnp.log(2 * jnp.pi * jnp.e), axis=-1)

    @staticmethod
    def kl(p: tuple[jax.Array, jax.Array], q: tuple[jax.Array, jax.Array]) -> jax.Array:
        """KL(p || q) per state, summed over action dimensions."""
        (p_mean, p_log_std), (q_mean, q_log_std) = p, q
        ratio = jnp.exp(2 * (p_log_std - q_log_std))
        z = (p_mean - q_mean) / jnp.exp(q_log_std)
        return jnp.sum(0.5 * (ratio + z**2 - 1) - (p_log_std - q_log_std), axis=-1)


LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


class TanhGaussian(NamedTuple):
    """Bounded continuous actions a = tanh(u), u ~ N(mean, std) (SAC's policy); the head
    outputs (mean, log_std) of u. Actions are in [-1, 1]; the learner rescales them to the
    env's bounds.

    `kl` is the Gaussian KL of the pre-tanh variables, which equals the KL of the squashed
    distributions (KL is invariant under a bijection); `entropy` is the pre-tanh entropy (the
    squashed one has no closed form)."""

    @staticmethod
    def sample(head: tuple[jax.Array, jax.Array], key: jax.Array) -> jax.Array:
        return jnp.tanh(DiagGaussian.sample(head, key))

    @staticmethod
    def sample_with_log_prob(head: tuple[jax.Array, jax.Array],
                             key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(action, log_prob), sampled with the reparameterization trick."""
        u = DiagGaussian.sample(head, key)
        action = jnp.tanh(u)
        return action, DiagGaussian.log_prob(head, u) - _tanh_log_det(u).sum(-1)

    @staticmethod
    def mode(head: tuple[jax.Array, jax.Array]) -> jax.Array:
        return jnp.tanh(head[0])

    @staticmethod
    def log_prob(head: tuple[jax.Array, jax.Array], action: jax.Array) -> jax.Array:
        u = jnp.arctanh(jnp.clip(action, -1 + 1e-6, 1 - 1e-6))
        return DiagGaussian.log_prob(head, u) - _tanh_log_det(u).sum(-1)

    entropy = staticmethod(DiagGaussian.entropy)
    kl = staticmethod(DiagGaussian.kl)


def _tanh_log_det(u: jax.Array) -> jax.Array:
    """log |d tanh(u) / du| = log(1 - tanh(u)^2), computed stably."""
    return 2 * (jnp.log(2.0) - u - jax.nn.softplus(-2 * u))
