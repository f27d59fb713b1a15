"""Where components act on a learner, shared by every learner: network building, the
optimizer chain and one gradient step.

A learner supplies its network, its loss and its hyperparameters; these functions put the
components' seams around them in one fixed order, so a component behaves the same on PPO,
SAC or DQN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lifelong.components.component import AgentSpec, Batch, Component, LearnerState
from lifelong.envs import TaskParams
from lifelong.evaluation.diagnostics import nonfinite, plasticity_diagnostics
from lifelong.evaluation.rollout import Actor, Evaluator
from lifelong.learners.networks import features


class AgentState(NamedTuple):
    learner: LearnerState
    components: dict[str, Any]  # component name -> its state
    aux: Any = None  # learner-owned state components never see (replay buffer, targets)


class TaskTraining(NamedTuple):
    """One task's training: whole, or started and stepped one eval period at a time."""

    start: Callable  # (agent, task_params, key) -> carry
    chunk: Callable  # (carry, task_params, eval_params) -> (carry, (returns, diagnostics))
    train: Callable  # (agent, task_params, eval_params, key) -> (agent, returns, diags, batch)
    finish: Callable | None = None  # (agent, task_params, key) -> agent, after the components'
    # task end (offline learners: the rehearsal memory)


def _with_network(spec: AgentSpec, network) -> AgentSpec:
    return replace(spec, apply=network.apply, features=partial(features, network),
                   hidden_layers=network.hidden_layers())


def build_network(network, spec: AgentSpec, components: tuple[Component, ...]):
    """(network, spec) after the architecture components: options first, then wrappers."""
    options = {}
    for component in components:
        if component.configure_network is not None:
            options.update(component.configure_network(spec))
    network = network.clone(**options)
    spec = _with_network(spec, network)
    for component in components:
        if component.wrap_network is not None:
            network = component.wrap_network(network, spec)
            spec = _with_network(spec, network)
    return network, spec


def optimizer(components: tuple[Component, ...], spec: AgentSpec, lr: float,
              max_grad_norm: float) -> optax.GradientTransformationExtraArgs:
    """Clipping, then the optimization components by name, then Adam."""
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=lr, eps=1e-5)
    return optax.named_chain(
        ("clip", optax.clip_by_global_norm(max_grad_norm)),
        *((c.name, c.grad_tx(spec)) for c in components if c.grad_tx is not None),
        ("adam", adam),
    )


def init_agent(network, spec: AgentSpec, components: tuple[Component, ...],
               tx: optax.GradientTransformation, key: jax.Array, aux: Any = None) -> AgentState:
    """A fresh agent. The network's key does not depend on the components, so a component
    that does nothing leaves the agent identical to fine-tuning."""
    key_net, key_components = jax.random.split(key)
    keys = jax.random.split(key_components, max(1, len(components)))
    params = network.init(key_net, jnp.zeros((1, spec.obs_dim)), jnp.int32(0))
    states = {c.name: c.init(k, params, spec) for c, k in zip(components, keys)}
    return AgentState(LearnerState(params, tx.init(params)), states, aux)


def with_penalties(loss: jax.Array, components: tuple[Component, ...], spec: AgentSpec, params,
                   states: dict[str, Any], batch: Batch, key: jax.Array) -> jax.Array:
    """`loss` plus every regularization component's penalty on `batch`."""
    for c in components:
        if c.penalty is not None:
            key, sub = jax.random.split(key)
            loss = loss + c.penalty(params, states[c.name], batch, spec, sub)
    return loss


def gradient_step(agent: AgentState, grad_fn: Callable[[Any, jax.Array], Any],
                  components: tuple[Component, ...], spec: AgentSpec,
                  tx: optax.GradientTransformationExtraArgs, batch: Batch,
                  key: jax.Array) -> AgentState:
    """One update: `grad_fn(params, key)` (the loss gradient, penalties included), the
    optimizer chain, then the components' `after_update` edits.

    Optimization components read their own state by name from `components`. Plasticity
    edits run after each gradient step, network wrappers last, so a wrapper that owns weights
    (packnet's frozen ones) has the final say in any order.
    """
    key_loss, key_tx, key_after = jax.random.split(key, 3)
    learner = agent.learner
    grads = grad_fn(learner.params, key_loss)
    updates, opt_state = tx.update(grads, learner.opt_state, learner.params,
                                   components=agent.components, batch=batch, key=key_tx)
    learner = LearnerState(optax.apply_updates(learner.params, updates), opt_state)
    states = dict(agent.components)
    for c in sorted(components, key=lambda c: c.wrap_network is not None):
        if c.after_update is not None:
            key_after, sub = jax.random.split(key_after)
            learner, states[c.name] = c.after_update(learner, states[c.name], batch, spec, sub)
    return agent._replace(learner=learner, components=states)


def per_env_params(params: TaskParams, num_envs: int, multitask: bool) -> TaskParams:
    """The task parameters of each of `num_envs` environments: the task's own, or in
    multitask mode (`params` stacked over K tasks) task i % K for environment i."""
    if not multitask:
        return params
    tasks = jnp.arange(num_envs) % params.task_id.shape[0]
    return jax.tree.map(lambda x: x[tasks], params)


def period_diagnostics(spec: AgentSpec, params, last: Batch,
                       finished: tuple[jax.Array, jax.Array]) -> dict[str, jax.Array]:
    """The diagnostics an eval period ends with: the plasticity diagnostics on `last`,
    `nonfinite` (1 where a parameter is NaN/Inf: the runner's guard) and `train_return`
    (mean return of the training episodes that ended in the period, from `finished` =
    (return sum, episode count); NaN if none did)."""
    diagnostics = plasticity_diagnostics(spec, params, last.obs, last.task_id)
    diagnostics["nonfinite"] = nonfinite(params)
    return_sum, episodes = finished
    diagnostics["train_return"] = jnp.where(episodes > 0,
                                            return_sum / jnp.maximum(episodes, 1), jnp.nan)
    return diagnostics


def eval_point(spec: AgentSpec, evaluator: Evaluator, actor: Actor, params, eval_params,
               last: Batch, finished: tuple[jax.Array, jax.Array], key: jax.Array,
               on_eval: Callable[[jax.Array, jax.Array], None] | None = None):
    """What an eval period of jitted training ends with: (returns [eval_tasks],
    `period_diagnostics`). `on_eval(return_sum, episodes)` is called from inside jit
    (progress display)."""
    returns = evaluator(actor, eval_params, key)
    diagnostics = period_diagnostics(spec, params, last, finished)
    if on_eval is not None:
        jax.debug.callback(on_eval, *finished)
    return returns, diagnostics
