"""Plasticity diagnostics of an agent's network: dormant units, weight norms, effective rank.

Computed inside the jitted training at every eval point, on the states of the last rollout.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lifelong.components.component import AgentSpec

DORMANT_THRESHOLD = 0.1  # ReDo's tau (Sokar et al. 2023)


def unit_scores(activations: jax.Array) -> jax.Array:
    """ReDo's score per unit: mean |activation| over the layer's mean of that. [B, W] -> [W]."""
    mean_abs = jnp.abs(activations).mean(axis=0)
    return mean_abs / (mean_abs.mean() + 1e-9)


def dormant_fraction(features: dict[str, jax.Array],
                     threshold: float = DORMANT_THRESHOLD) -> jax.Array:
    """Fraction of all hidden units whose score is at most `threshold`."""
    dormant = [unit_scores(a) <= threshold for a in features.values()]
    return jnp.concatenate(dormant).mean()


def effective_rank(activations: jax.Array, delta: float = 0.01) -> jax.Array:
    """srank (Kumar et al. 2021): fewest singular values holding 1 - delta of their sum."""
    singular = jnp.linalg.svd(activations, compute_uv=False)
    cumulative = jnp.cumsum(singular) / (singular.sum() + 1e-9)
    return jnp.sum(cumulative < 1 - delta) + 1


def weight_norms(params) -> dict[str, jax.Array]:
    """Frobenius norm of every Dense kernel, keyed by its module path."""
    norms = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        keys = [str(getattr(k, "key", k)) for k in path]
        if keys[-1] == "kernel":
            norms["/".join(k for k in keys[:-1] if k != "params")] = jnp.linalg.norm(leaf)
    return norms


def nonfinite(params) -> jax.Array:
    """1.0 if any parameter is NaN or infinite, else 0.0."""
    finite = jnp.stack([jnp.isfinite(x).all() for x in jax.tree.leaves(params)]).all()
    return 1.0 - finite.astype(jnp.float32)


def plasticity_diagnostics(spec: AgentSpec, params, obs: jax.Array,
                           task_id: jax.Array) -> dict[str, jax.Array]:
    """{diagnostic name: scalar}: dormant fraction, each layer's weight norm and the
    effective rank of each last hidden layer (the one read by an output layer)."""
    out = {f"weight_norm/{name}": norm for name, norm in weight_norms(params).items()}
    if spec.hidden_layers:
        features = spec.features(params, obs, task_id)
        out["dormant_fraction"] = dormant_fraction(features)
        hidden = {layer.name for layer in spec.hidden_layers}
        for layer in spec.hidden_layers:
            if layer.outgoing not in hidden:
                out[f"effective_rank/{layer.name}"] = effective_rank(features[layer.name])
    return out
