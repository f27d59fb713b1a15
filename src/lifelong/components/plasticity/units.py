"""Unit- and weight-level surgery shared by the plasticity components.

A hidden unit j of layer L (a `HiddenLayer`) owns:

- its incoming weights: column j of `params["params"][L.name]["kernel"]` ([in, width]), the
  bias entry j, and, when the network has LayerNorm, entry j of the `<L.name>_norm` scale
  and bias;
- its outgoing weights: row j of `params["params"][L.outgoing]["kernel"]` ([width, out];
  with per-task heads `out` is num_heads * head width, still one row per unit).

`recycle_units` re-initialises the incoming weights of the chosen units, zeroes their
outgoing weights and zeroes Adam's first and second moments of exactly those weights
(ReDo and Continual Backprop both do this).

Fresh weights (`fresh_kernel`) are drawn with the component's own key, column by column:
each column (a unit's incoming weights) is a uniformly random direction scaled to the RMS
column norm of the layer's initial kernel, c = ||W0||_F / sqrt(width) (`column_norms`,
stored at init, so the network's initializer need not be known). The actor-critic
initialises every Dense orthogonally with gain g; when in >= width the columns of such a
kernel are exactly uniform directions of norm g, so a fresh column has the distribution of
a freshly initialised one (only its orthogonality to the other columns is not enforced);
when in < width (the first layer) the initial columns' norms vary around c. This costs a
Gaussian draw instead of a QR decomposition, which matters because these functions run
after every gradient step. Fresh biases are zero, fresh LayerNorm scales one and offsets
zero (flax's defaults).

Only the `params` collection is touched; other variable collections (e.g. packnet's owner
table) are left alone. Adam's state is found by name (`opt_state["adam"]`) and, inside it,
by type (`optax.ScaleByAdamState`), never by position. Its step count is global and is left
alone, so the first steps of a recycled weight use the current bias correction.

`when(pred, fn, operand)` runs such surgery only on the steps that need it, also under the
runner's vmap over seeds (where a plain `lax.cond` would run both branches every step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from lifelong.components.component import AgentSpec, HiddenLayer
from lifelong.errors import ConfigError

NORM_SUFFIX = "_norm"  # the LayerNorm after Dense X is named X + this suffix
OPTIMIZER_NAME = "adam"  # the learner's Adam in its named_chain state


def dense_modules(params) -> dict[str, dict]:
    """{module name: its variables} of every Dense (a 2-D `kernel`) in `params["params"]`."""
    return {name: module for name, module in params["params"].items()
            if isinstance(module, Mapping) and "kernel" in module
            and getattr(module["kernel"], "ndim", 0) == 2}


def column_norms(params) -> dict[str, jax.Array]:
    """{Dense name: ||W0||_F / sqrt(width)}, the RMS column norm of each initial kernel W0
    [in, width] (float32 scalars, kept in component states)."""
    return {name: (jnp.linalg.norm(m["kernel"]) / jnp.sqrt(m["kernel"].shape[1]))
            .astype(jnp.float32) for name, m in dense_modules(params).items()}


def fresh_kernel(key: jax.Array, shape: tuple[int, int], column_norm: jax.Array,
                 dtype=jnp.float32) -> jax.Array:
    """A fresh [in, width] kernel: every column a uniformly random direction of norm
    `column_norm`."""
    g = jax.random.normal(key, shape, dtype)
    return g * (column_norm / jnp.maximum(jnp.linalg.norm(g, axis=0, keepdims=True), 1e-12))


def when(pred: jax.Array, fn: Callable[[Any], Any], operand: Any) -> Any:
    """`fn(operand)` if `pred` else `operand` (fn keeps operand's structure and shapes).

    Unbatched, a `lax.cond`. Batched (vmap over seeds), `fn` runs for every lane, but only
    on calls where some lane's `pred` holds, and lanes whose `pred` is false keep their
    operand bit for bit; a plain `lax.cond` would become a select and run `fn` every call.
    `fn` must not close over traced values: pass them in `operand`.
    """

    @jax.custom_batching.custom_vmap
    def run(pred, operand):
        return jax.lax.cond(pred, fn, lambda x: x, operand)

    @run.def_vmap
    def run_batched(axis_size, in_batched, pred, operand):
        pred_batched, operand_batched = in_batched
        if not pred_batched:
            pred = jnp.broadcast_to(pred, (axis_size,))
        operand = jax.tree.map(
            lambda x, b: x if b else jnp.broadcast_to(x, (axis_size, *jnp.shape(x))),
            operand, operand_batched)

        def fire(x):
            new = jax.vmap(fn)(x)
            return jax.tree.map(
                lambda n, o: jnp.where(pred.reshape(-1, *[1] * (o.ndim - 1)), n, o), new, x)

        out = jax.lax.cond(jnp.any(pred), fire, lambda x: x, operand)
        return out, jax.tree.map(lambda _: True, out)

    return run(pred, operand)


def require_hidden_layers(spec: AgentSpec, component: str) -> tuple[HiddenLayer, ...]:
    """The network's hidden layers; a ConfigError when the network does not expose them."""
    if not spec.hidden_layers:
        raise ConfigError(component, f"{component} needs the network's hidden layers "
                          "(spec.hidden_layers is empty: the weights are not parameters, "
                          f"e.g. with hypernet); remove {component} or the component that "
                          "replaces the network")
    return spec.hidden_layers


def _set(tree: dict, module: str, leaf: str, value) -> None:
    tree["params"][module] = {**tree["params"][module], leaf: value}


def _copy(params) -> dict:
    """A shallow copy of `params` whose `params` collection can be edited module by module."""
    out = dict(params)
    out["params"] = dict(params["params"])
    return out


def recycle_units(params, layers: Sequence[HiddenLayer], masks: Mapping[str, jax.Array],
                  norms: Mapping[str, jax.Array], key: jax.Array):
    """Re-initialises the units `masks[layer.name]` ([width] bool) of each layer and zeroes
    their outgoing weights. Returns (params, touched): `touched` has the structure of
    `params`, True on every weight that was re-initialised or zeroed.

    Where a unit's outgoing row meets another recycled unit's incoming column (two
    consecutive hidden layers), the weight is zeroed.
    """
    new = _copy(params)
    touched = jax.tree.map(lambda x: jnp.zeros(x.shape, bool), params)
    touched = _copy(touched)
    keys = jax.random.split(key, max(1, len(layers)))
    for layer, k in zip(layers, keys):
        mask = masks[layer.name]
        dense = new["params"][layer.name]
        kernel = dense["kernel"]
        fresh = fresh_kernel(k, kernel.shape, norms[layer.name], kernel.dtype)
        _set(new, layer.name, "kernel", jnp.where(mask[None, :], fresh, kernel))
        _set(touched, layer.name, "kernel", touched["params"][layer.name]["kernel"]
             | mask[None, :])
        if "bias" in dense:
            _set(new, layer.name, "bias", jnp.where(mask, 0.0, dense["bias"]))
            _set(touched, layer.name, "bias", mask)
        norm = layer.name + NORM_SUFFIX
        if norm in new["params"]:
            for leaf, value in (("scale", 1.0), ("bias", 0.0)):
                if leaf in new["params"][norm]:
                    _set(new, norm, leaf, jnp.where(mask, value, new["params"][norm][leaf]))
                    _set(touched, norm, leaf, mask)
    for layer in layers:
        mask = masks[layer.name]
        kernel = new["params"][layer.outgoing]["kernel"]
        _set(new, layer.outgoing, "kernel", jnp.where(mask[:, None], 0.0, kernel))
        _set(touched, layer.outgoing, "kernel",
             touched["params"][layer.outgoing]["kernel"] | mask[:, None])
    return new, touched


def reset_adam_moments(opt_state, touched):
    """Zeroes Adam's mu and nu wherever `touched` (a bool tree shaped like the parameters)
    is True; everything else in the optimizer state is returned as it was."""
    if not isinstance(opt_state, Mapping) or OPTIMIZER_NAME not in opt_state:
        return opt_state  # no Adam to reset (a learner with another optimizer)

    def reset(node):
        if not isinstance(node, optax.ScaleByAdamState):
            return node
        zero = lambda m, t: jnp.where(t, jnp.zeros_like(m), m)  # noqa: E731
        return node._replace(mu=jax.tree.map(zero, node.mu, touched),
                             nu=jax.tree.map(zero, node.nu, touched))

    adam = jax.tree.map(reset, opt_state[OPTIMIZER_NAME],
                        is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
    out = type(opt_state)(opt_state)
    out[OPTIMIZER_NAME] = adam
    return out
