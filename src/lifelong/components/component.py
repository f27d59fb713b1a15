"""The `Component` type: a continual-learning method as data plus pure functions.

A component fills any of the slots below; empty slots are `None`. Its state is a pytree
that the runner keeps in `AgentState.components[name]`, so a component never reaches into
another component's state, and its tree structure stays fixed across tasks (no
recompilation at task boundaries). Numeric hyperparameters that sweeps vary (strengths,
decays) live in that state as arrays, so changing them does not recompile either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import optax

Params = Any
State = Any


@dataclass(frozen=True)
class HiddenLayer:
    """A hidden layer of the agent's network, named by its Dense modules in `params`."""

    name: str  # the Dense module producing the units (params["params"][name]); features key
    outgoing: str  # the Dense module reading the units


@dataclass(frozen=True)
class AgentSpec:
    """What components may know about the agent they are attached to."""

    obs_dim: int
    action_dim: int
    discrete: bool
    num_tasks: int
    # apply(params, obs [B, obs_dim], task_id) -> (distribution params, value [B])
    apply: Callable[[Params, jax.Array, jax.Array], tuple[Any, jax.Array]]
    distribution: Any  # lifelong.learners.distributions.Categorical or DiagGaussian
    # features(params, obs [B, obs_dim], task_id) -> {layer name: post-activation [B, width]}
    features: Callable[[Params, jax.Array, jax.Array], dict[str, jax.Array]]
    hidden_layers: tuple[HiddenLayer, ...]  # empty when the weights are not parameters
    updates_per_task: int  # gradient steps the learner takes on each task


class Batch(NamedTuple):
    """Transitions from the current task, flattened to [B, ...]."""

    obs: jax.Array  # [B, obs_dim]
    actions: jax.Array  # [B] (discrete) or [B, action_dim]
    task_id: jax.Array  # []


class LearnerState(NamedTuple):
    params: Params
    opt_state: optax.OptState


class Component(NamedTuple):
    """A continual-learning method; docs/components.md gives the contract of each slot."""

    name: str
    init: Callable[[jax.Array, Params, AgentSpec], State]
    # Regularization: a scalar added to the learner's loss, on the current minibatch.
    penalty: Callable[[Params, State, Batch, AgentSpec, jax.Array], jax.Array] | None = None
    # Optimization: builds a gradient transformation chained (under the component's name)
    # between gradient clipping and the learner's optimizer. Its `update` receives the extra
    # keyword arguments `components` (every component state: read your own by name),
    # `batch` and `key`.
    grad_tx: Callable[[AgentSpec], optax.GradientTransformationExtraArgs] | None = None
    # Architecture: options of the learner's own network (e.g. {"num_heads": 4}), merged
    # over all components before any wrapping, so such components combine in any order.
    configure_network: Callable[[AgentSpec], dict[str, Any]] | None = None
    # Architecture: returns the network to use instead of the given (configured) one.
    wrap_network: Callable[[Any, AgentSpec], Any] | None = None
    # Plasticity and replay bookkeeping: edits parameters / optimizer state / own state after
    # every gradient step, in list order except that components with `wrap_network` go last.
    after_update: (
        Callable[[LearnerState, State, Batch, AgentSpec, jax.Array],
                 tuple[LearnerState, State]] | None
    ) = None
    # Consolidation at task boundaries.
    on_task_start: Callable[[State, Params, jax.Array], State] | None = None
    on_task_end: Callable[[State, Params, Batch, AgentSpec, jax.Array], State] | None = None
    requires_task_id: bool = False
    requires_boundaries: bool = False
