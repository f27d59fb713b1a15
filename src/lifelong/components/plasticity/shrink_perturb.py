"""Shrink & Perturb (Ash and Adams, 2020), as used in continual RL.

Warm-starting from trained weights generalises and adapts worse than a fresh start; S&P
keeps what was learned but moves the weights part of the way back to an initialisation:

    theta <- shrink * theta + perturb * theta_fresh,

with theta_fresh a fresh draw of the network's initialisation. With shrink = 1 - perturb
this interpolates between the trained and a new network (the defaults, 0.8 and 0.2, are
the mixing coefficient alpha = 0.8 used with a fresh initialisation in the plasticity
literature); shrink = 1, perturb = 0 is plain fine-tuning.

What it covers: the kernel and bias of every Dense module of the `params` collection,
output layers included. theta_fresh is drawn with the component's own key (the network's
own init function is not available to components, and keeping the initial weights instead
would pull every task towards the same point): each kernel column a fresh random direction
with the RMS column norm of the initial kernel, so ||theta_fresh|| = ||theta_0|| layer by
layer (see `units.py`); each bias zero (the network's bias initialisation, so biases are
only shrunk). LayerNorm parameters, a
continuous policy's `log_std`, other variable collections and Adam's state are left alone.

When: by default at every task boundary, i.e. right after the first gradient step of every
task after the first (the slot that sees the parameters runs after each step; task t
starts at step t * updates_per_task). With `every: N`, instead every N gradient steps,
without needing the boundaries.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from pydantic import Field

from lifelong.components.component import Component, LearnerState
from lifelong.components.plasticity.units import column_norms, dense_modules, fresh_kernel, when
from lifelong.components.registry import ComponentOptions, register_component

NAME = "shrink_perturb"


class ShrinkPerturbOptions(ComponentOptions):
    shrink: float = Field(0.8, ge=0, le=1, description="Factor on the current weights.")
    perturb: float = Field(0.2, ge=0, le=1, description="Factor on a fresh initialisation.")
    every: int | None = Field(None, ge=1, le=1_000_000, description="Apply every this many "
                              "gradient steps; null: at every task boundary (after the "
                              "first task).")


def fresh_params(key: jax.Array, params, norms: dict) -> dict:
    """{Dense name: {"kernel": fresh draw, "bias": zeros}} for every Dense in `norms`."""
    modules = dense_modules(params)
    keys = jax.random.split(key, max(1, len(norms)))
    out = {}
    for (name, norm), k in zip(sorted(norms.items()), keys):
        kernel = modules[name]["kernel"]
        out[name] = {"kernel": fresh_kernel(k, kernel.shape, norm, kernel.dtype)}
        if "bias" in modules[name]:
            out[name]["bias"] = jnp.zeros_like(modules[name]["bias"])
    return out


def shrink_and_perturb(params, fresh: dict, shrink: jax.Array, perturb: jax.Array):
    """params with shrink * theta + perturb * fresh on every leaf of `fresh`."""
    new = dict(params)
    new["params"] = dict(params["params"])
    for name, leaves in fresh.items():
        module = dict(new["params"][name])
        for leaf, value in leaves.items():
            module[leaf] = shrink * module[leaf] + perturb * value
        new["params"][name] = module
    return new


@register_component(NAME, "plasticity", ShrinkPerturbOptions,
                    "Shrink & Perturb: mix the weights with a fresh initialisation.")
def shrink_perturb(options: ShrinkPerturbOptions) -> Component:
    def init(key, params, spec):
        del key
        every = options.every if options.every is not None else spec.updates_per_task
        return {"step": jnp.int32(0), "every": jnp.int32(max(1, every)),
                "shrink": jnp.float32(options.shrink), "perturb": jnp.float32(options.perturb),
                "norm": column_norms(params)}

    def after_update(learner, state, batch, spec, key):
        del batch, spec
        step = state["step"]  # gradient steps taken before this one
        if options.every is None:  # the first step of every task after the first
            apply = (step > 0) & (step % state["every"] == 0)
        else:
            apply = (step + 1) % state["every"] == 0

        def mix(operand):
            params, shrink, perturb, norms, key = operand
            fresh = fresh_params(key, params, norms)
            return shrink_and_perturb(params, fresh, shrink, perturb), shrink, perturb, norms, key

        params, *_ = when(apply, mix, (learner.params, state["shrink"], state["perturb"],
                                       state["norm"], key))
        return LearnerState(params, learner.opt_state), {**state, "step": step + 1}

    return Component(NAME, init, after_update=after_update,
                     requires_boundaries=options.every is None)
