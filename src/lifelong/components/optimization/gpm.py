"""Gradient Projection Memory, GPM (Saha, Garg and Roy, 2021).

GPM keeps, for every layer, an orthonormal basis M of the input space that the past tasks'
inputs to that layer occupy, and lets gradient steps move the weights only in the
orthogonal complement, so that the layer's response to past inputs stays (nearly) as it
was. With a Dense layer y = x W (W is [in, out]), a step dW changes the past outputs by
x dW; projecting every gradient as

    g <- g - M M^T g                                     (g is [in, out], M is [in, k])

removes the part of the step that past inputs x ~ span(M) would see.

Memory update, at the end of each task, for every Dense layer: take its inputs R [B, in] on
the task's last rollout (the observations for the first layers, the hidden features they
read for the others), remove what the basis already explains, R_hat = R - R M M^T, and take
the SVD R_hat^T = U S V^T. The energy of R already captured is ||R||^2 - ||R_hat||^2; GPM
adds the fewest leading columns of U that bring the captured energy to at least
`threshold * ||R||^2` (none if it is already there). The threshold may grow by
`threshold_increment` after each task, as in the paper's experiments (capped at 1).

Each basis is stored at its final shape, [in, in], with unused columns zero (harmless in
M M^T) and a count of the columns in use, so task boundaries never change the state's shape.

Biases: with `project_bias` (default) a bias is treated as the weight of an extra input
that is always 1, i.e. the layer's input is [x, 1] and the kernel and bias gradients are
projected together in that (in + 1)-dimensional space; otherwise biases are updated freely,
as with GPM's bias-free networks. A continuous policy's `log_std` is not a Dense and is not
projected. The projection acts on the (clipped) gradient, before the learner's Adam.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from pydantic import Field

from lifelong.components.component import AgentSpec, Component
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.errors import ConfigError

NAME = "gpm"


class GPMOptions(ComponentOptions):
    threshold: float = Field(0.97, gt=0, le=1, description="Fraction of each layer's input "
                             "energy on a task that the basis must capture at its end.")
    threshold_increment: float = Field(0.0, ge=0, le=1, description="Added to the threshold "
                                       "after each task (capped at 1).")
    project_bias: bool = Field(True, description="Treat each bias as the weight of a constant "
                               "input 1 and project it with the kernel; else leave it free.")


def dense_inputs(params, spec: AgentSpec) -> dict[str, str | None]:
    """{Dense module name: the hidden layer it reads, or None for the observations}.
    Raises a ConfigError when the network does not expose what its layers read."""
    if not spec.hidden_layers:
        raise ConfigError(NAME, "gpm needs the network's hidden layers (spec.hidden_layers is "
                          "empty); use it with the standard actor-critic network")
    readers = {layer.outgoing: layer.name for layer in spec.hidden_layers}
    inputs = {}
    for name, module in params["params"].items():
        kernel = module.get("kernel") if hasattr(module, "get") else None
        if kernel is None or kernel.ndim != 2:
            continue
        if name in readers:
            inputs[name] = readers[name]
        elif kernel.shape[0] == spec.obs_dim:
            inputs[name] = None
        else:
            raise ConfigError(NAME, f"cannot tell what Dense {name!r} reads (it is no hidden "
                              "layer's reader and its input is not the observation); remove "
                              "gpm or the component that adds this layer")
    return inputs


def layer_inputs(params, spec: AgentSpec, obs: jax.Array, task_id: jax.Array,
                 project_bias: bool) -> dict[str, jax.Array]:
    """{Dense module name: its inputs [B, in (+1)]} on `obs`."""
    features = spec.features(params, obs, task_id)
    out = {}
    for name, source in dense_inputs(params, spec).items():
        x = obs if source is None else features[source]
        if project_bias and "bias" in params["params"][name]:
            x = jnp.concatenate([x, jnp.ones((x.shape[0], 1), x.dtype)], axis=1)
        out[name] = x
    return out


def update_basis(basis: jax.Array, count: jax.Array, inputs: jax.Array,
                 threshold: jax.Array) -> tuple[jax.Array, jax.Array]:
    """GPM's memory update of one layer: `basis` [d, d] (first `count` columns orthonormal,
    the rest zero) and the layer's `inputs` [B, d] on a task -> (basis, count)."""
    d = basis.shape[0]
    total = jnp.sum(inputs**2)
    residual = inputs - (inputs @ basis) @ basis.T
    captured = total - jnp.sum(residual**2)
    u, s, _ = jnp.linalg.svd(residual.T, full_matrices=True)  # u [d, d], s [min(d, B)]
    s = jnp.zeros(d, s.dtype).at[: s.shape[0]].set(s)
    energy = s**2
    before = captured + jnp.cumsum(energy) - energy  # captured energy before adding column i
    column = jnp.arange(d)
    take = ((before < threshold * total) & (s > 1e-5 * s[0]) & (column < d - count))
    added = jnp.sum(take).astype(jnp.int32)
    # Guard orthogonality to the old basis against round-off, then renormalize.
    u = u - basis @ (basis.T @ u)
    u = u / jnp.maximum(jnp.linalg.norm(u, axis=0, keepdims=True), 1e-12)
    candidate = u[:, jnp.clip(column - count, 0, d - 1)]
    new = jnp.where(column < count, basis, jnp.where(column < count + added, candidate, 0.0))
    return new, count + added


def project(g: jax.Array, basis: jax.Array) -> jax.Array:
    """g [d, out] without its component in the span of the basis: g - M M^T g."""
    return g - basis @ (basis.T @ g)


@register_component(NAME, "optimization", GPMOptions,
                    "GPM: keep gradients orthogonal to the past tasks' layer-input subspaces.")
def gpm(options: GPMOptions) -> Component:
    def init(key, params, spec):
        del key
        features = jax.eval_shape(spec.features, params, jnp.zeros((1, spec.obs_dim)),
                                  jnp.int32(0))
        widths = {}
        for name, source in dense_inputs(params, spec).items():
            module = params["params"][name]
            width = spec.obs_dim if source is None else features[source].shape[-1]
            if width != module["kernel"].shape[0]:
                raise ConfigError(NAME, f"Dense {name!r} reads {source or 'the observation'} "
                                  f"of width {width}, but its kernel has "
                                  f"{module['kernel'].shape[0]} inputs")
            widths[name] = width + int(options.project_bias and "bias" in module)
        return {"basis": {n: jnp.zeros((w, w), jnp.float32) for n, w in widths.items()},
                "count": {n: jnp.int32(0) for n in widths},
                "threshold": jnp.float32(options.threshold),
                "threshold_increment": jnp.float32(options.threshold_increment),
                "tasks": jnp.float32(0.0)}

    def grad_tx(spec):
        del spec

        def update(updates, opt_state, params=None, *, components, batch, key, **extra_args):
            del params, batch, key, extra_args
            bases = components[NAME]["basis"]
            layers = dict(updates["params"])
            for name, basis in bases.items():
                layer = dict(layers[name])
                kernel = layer["kernel"]
                if basis.shape[0] == kernel.shape[0] + 1:  # the bias is an extra input
                    joint = jnp.concatenate([kernel, layer["bias"][None]], axis=0)
                    joint = project(joint, basis)
                    layer["kernel"], layer["bias"] = joint[:-1], joint[-1]
                else:
                    layer["kernel"] = project(kernel, basis)
                layers[name] = layer
            return {**updates, "params": layers}, opt_state

        return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)

    def on_task_end(state, params, batch, spec, key):
        del key
        threshold = jnp.minimum(state["threshold"] + state["tasks"]
                                * state["threshold_increment"], 1.0)
        inputs = layer_inputs(params, spec, batch.obs, batch.task_id, options.project_bias)
        basis, count = {}, {}
        for name, x in inputs.items():
            basis[name], count[name] = update_basis(state["basis"][name], state["count"][name],
                                                    x, threshold)
        return {**state, "basis": basis, "count": count, "tasks": state["tasks"] + 1.0}

    return Component(NAME, init, grad_tx=grad_tx, on_task_end=on_task_end,
                     requires_boundaries=True)
