"""Normalize-and-Project, NaP (Lyle, Zheng, Khetarpal, Martens, van Hasselt, Pascanu and
Dabney, 2024).

Two parts. *Normalize*: a LayerNorm before every hidden nonlinearity (the actor-critic's
`layer_norm` option; the LayerNorm after Dense X is named `X_norm`). With it, a hidden
layer's output no longer depends on the scale of its kernel, so growing weights only
shrink the effective learning rate. *Project*: after every gradient step, every kernel is
put back on the sphere of its initial norm, and every LayerNorm's scale gamma and offset
beta jointly on the sphere of their initial squared norm (||gamma0||^2 + ||beta0||^2 =
width with flax's ones/zeros initialisation):

    W <- W * ||W0||_F / ||W||_F,
    (gamma, beta) <- (gamma, beta) * sqrt((||gamma0||^2 + ||beta0||^2)
                                          / (||gamma||^2 + ||beta||^2)),

which keeps the effective learning rate of the normalised layers constant. Biases of the
Dense modules are not projected, and Adam's state is left as it is.

The output layers are not followed by a LayerNorm, so projecting them changes the
function. The paper's handling of the final layer is not settled (its main experiments
project every layer; it also discusses leaving the last layer free or normalising its
output instead): `project_output: true` (default) projects the actor and critic output
kernels too, `false` leaves them free.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component, LearnerState
from lifelong.components.plasticity.units import NORM_SUFFIX, dense_modules
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.errors import ConfigError

NAME = "nap"


class NaPOptions(ComponentOptions):
    project_output: bool = Field(True, description="Also project the output layers' kernels "
                                 "(false: leave them free).")


def projected_kernels(params, spec, project_output: bool) -> list[str]:
    """Names of the Dense modules whose kernel NaP projects."""
    names = sorted(dense_modules(params))
    if project_output:
        return names
    if not spec.hidden_layers:
        raise ConfigError(NAME, "project_output: false needs the network's hidden layers to "
                          "tell the output layers apart (spec.hidden_layers is empty); set "
                          "project_output: true")
    hidden = {layer.name for layer in spec.hidden_layers}
    return [name for name in names if name in hidden]


def layer_norms(params) -> list[str]:
    """Names of the LayerNorm modules (a `scale` and a `bias`, named `<dense>_norm`)."""
    return sorted(name for name, module in params["params"].items()
                  if name.endswith(NORM_SUFFIX) and "scale" in module and "bias" in module)


def joint_norm(layer_norm) -> jax.Array:
    """sqrt(||gamma||^2 + ||beta||^2) of a LayerNorm's variables."""
    return jnp.sqrt(jnp.sum(layer_norm["scale"] ** 2) + jnp.sum(layer_norm["bias"] ** 2))


def project(x: jax.Array, norm: jax.Array, target: jax.Array) -> jax.Array:
    """x rescaled by target / norm (x is part of a group whose joint norm is `norm`)."""
    return x * (target / jnp.maximum(norm, 1e-12))


@register_component(NAME, "plasticity", NaPOptions,
                    "Normalize-and-Project: LayerNorm and weights kept at their initial norm.")
def nap(options: NaPOptions) -> Component:
    def init(key, params, spec):
        del key
        kernels = projected_kernels(params, spec, options.project_output)
        return {
            "kernel_norm": {n: jnp.linalg.norm(params["params"][n]["kernel"]) for n in kernels},
            "norm": {n: joint_norm(params["params"][n]) for n in layer_norms(params)},
        }

    def after_update(learner, state, batch, spec, key):
        del batch, spec, key
        params = dict(learner.params)
        params["params"] = dict(params["params"])
        for name, target in state["kernel_norm"].items():
            module = dict(params["params"][name])
            module["kernel"] = project(module["kernel"], jnp.linalg.norm(module["kernel"]),
                                       target)
            params["params"][name] = module
        for name, target in state["norm"].items():
            module = dict(params["params"][name])
            norm = joint_norm(module)
            module["scale"] = project(module["scale"], norm, target)
            module["bias"] = project(module["bias"], norm, target)
            params["params"][name] = module
        return LearnerState(params, learner.opt_state), state

    return Component(NAME, init, configure_network=lambda spec: {"layer_norm": True},
                     after_update=after_update)
