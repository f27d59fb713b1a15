"""PackNet (Mallya and Lazebnik, 2018): iterative pruning packs tasks into one network.

Every weight w_i of every Dense kernel has an owner o_i: a task id, or "free". While task t
trains, only the free weights move; weights owned by earlier tasks are frozen but still
used. At a fixed point of the task (`prune_at` of its gradient steps) PackNet prunes: in
each kernel, among the free weights, the largest-magnitude fraction `keep` becomes task t's
(o_i <- t) and the rest is set to zero and stays free for the tasks to come; the remaining
steps of the task retrain the kept weights alone. Task t's network is then, for every
kernel W,

    W_t = W * m_t,    m_t,i = [o_i <= t]                 (after task t was pruned)
                      m_t,i = [o_i <= t or o_i free]     (while task t trains, unpruned)

so the network of an earlier task never sees a weight that a later task trains: its
outputs stay exactly what they were at the end of its own training (zero forgetting).

Design:
- The owner table lives in the network's variables as a separate collection, `packnet`,
  beside `params` (`{"owner": {"actor_0/kernel": [in, out], ...}, "pruned": [num_tasks]}`,
  float32, the free owner encoded as `num_tasks`). The network returned by `wrap_network`
  masks the kernels with it inside `apply`, so evaluation and acting use the masks without
  any extra argument, and the parameter paths stay those of the actor-critic.
- The component state holds the authoritative copy of that table; `after_update` writes it
  back into the parameters after every gradient step (the learner's gradients on it are
  zero, but another component's penalty or decay could otherwise move it).
- Freezing is by restoration: `after_update` puts every weight a task may not train back
  to a stored copy (zeroing gradients is not enough: Adam's moments keep moving weights).
  Pruned weights are held at zero until the next task starts.
- Biases (and a continuous policy's `log_std`, and any other non-kernel parameter) are
  shared: as in Continual World (Wolczyk et al., 2021), they train during the first task
  only and are frozen afterwards.
- `keep` defaults to Continual World's schedule 1 / (tasks left), which gives every task an
  equal share of the weights; a number instead keeps that fraction of the free weights at
  every task. The last task keeps all free weights (nothing is left to pack).
- A task seen again later (a revisit) trains nothing: its weights are sealed at its first
  end.

Needs the task id (to pick the mask) and the task boundaries (to seal a task at its end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import traverse_util
from pydantic import Field

from lifelong.components.component import Component, LearnerState
from lifelong.components.registry import ComponentOptions, register_component
from lifelong.errors import ConfigError
from lifelong.learners.networks import MLP_NETWORKS

NAME = "packnet"
COLLECTION = "packnet"


class PackNetOptions(ComponentOptions):
    prune_at: float = Field(0.8, gt=0, le=1, description="Fraction of each task's gradient "
                            "steps after which its free weights are pruned; the rest of the "
                            "task retrains the kept weights.")
    keep: float | None = Field(None, gt=0, le=1, description="Fraction of each layer's free "
                               "weights a task keeps at its prune; null: Continual World's "
                               "equal-share schedule 1 / (tasks left). The last task keeps "
                               "all.")


def is_packed(path: str) -> bool:
    """Whether the parameter at `path` ("actor_0/kernel") is pruned and owned per weight."""
    return path.rsplit("/", 1)[-1] == "kernel"


def _flat(tree) -> dict[str, jax.Array]:
    return traverse_util.flatten_dict(tree, sep="/")


def _unflat(flat: dict[str, jax.Array]):
    return traverse_util.unflatten_dict(flat, sep="/")


def initial_table(params, num_tasks: int) -> dict[str, Any]:
    """Every kernel weight free (owner `num_tasks`), no task pruned."""
    owner = {path: jnp.full(leaf.shape, num_tasks, jnp.float32)
             for path, leaf in _flat(params).items() if is_packed(path)}
    return {"owner": owner, "pruned": jnp.zeros(num_tasks, jnp.float32)}


def weight_masks(table, task_id: jax.Array, num_tasks: int) -> dict[str, jax.Array]:
    """{kernel path: 0/1 mask of the weights task `task_id`'s network uses}."""
    unpruned = table["pruned"][task_id] == 0
    return {path: ((owner <= task_id) | ((owner == num_tasks) & unpruned)).astype(jnp.float32)
            for path, owner in table["owner"].items()}


def masked_params(variables, task_id: jax.Array, num_tasks: int):
    """The `params` collection as task `task_id`'s network sees it."""
    masks = weight_masks(variables[COLLECTION], task_id, num_tasks)
    flat = {path: leaf * masks[path] if path in masks else leaf
            for path, leaf in _flat(variables["params"]).items()}
    return _unflat(flat)


def prune(weights: jax.Array, owner: jax.Array, task_id: jax.Array, keep: jax.Array,
          num_tasks: int) -> tuple[jax.Array, jax.Array]:
    """Gives the largest-magnitude `keep` fraction of the free weights to `task_id` and zeroes
    the other free weights. Returns (weights, owner); ties go to the lower flat index.

    The magnitude threshold is found by bisection on the bit patterns of |w| (for
    non-negative floats, integer order is float order): 32 counting passes instead of a
    sort, since this runs (masked) after every gradient step."""
    free = owner == num_tasks
    count = jnp.round(keep * free.sum()).astype(jnp.int32)
    bits = jax.lax.bitcast_convert_type(jnp.abs(weights), jnp.int32)
    bits = jnp.where(free, bits, -1).ravel()

    def bisect(_, bounds):  # invariant: at least `count` free weights have bits >= low
        low, high = bounds
        middle = low + (high - low + 1) // 2
        enough = jnp.sum(bits >= middle) >= count
        return jnp.where(enough, middle, low), jnp.where(enough, high, middle - 1)

    threshold, _ = jax.lax.fori_loop(0, 32, bisect, (jnp.int32(0), jnp.int32(0x7F800000)))
    above, tied = bits > threshold, bits == threshold
    kept = above | (tied & (jnp.cumsum(tied) <= count - above.sum()))
    kept = kept.reshape(weights.shape) & free & (count > 0)
    owner = jnp.where(kept, task_id.astype(jnp.float32), owner)
    weights = jnp.where(free & ~kept, 0.0, weights)
    return weights, owner


def keep_schedule(keep: float | None, num_tasks: int) -> jax.Array:
    """[num_tasks] fraction of the free weights each task keeps; the last keeps all."""
    fractions = [1.0 / (num_tasks - t) if keep is None else keep for t in range(num_tasks)]
    fractions[-1] = 1.0
    return jnp.asarray(fractions, jnp.float32)


@dataclass(frozen=True)
class PackNetNetwork:
    """The wrapped network: `init` adds the owner table, `apply` masks the kernels by task.

    It keeps the wrapped module's interface (`init`, `apply`, `hidden_layers`) and parameter
    paths, so components that read layers by name see the actor-critic's layers; the masks
    are applied to the variables before the wrapped module runs.
    """

    network: Any
    num_tasks: int

    def init(self, rngs, obs: jax.Array, task_id: jax.Array, **kwargs):
        variables = dict(self.network.init(rngs, obs, task_id, **kwargs))
        variables[COLLECTION] = initial_table(variables["params"], self.num_tasks)
        return variables

    def apply(self, variables, obs: jax.Array, task_id: jax.Array, *args, **kwargs):
        inner = {k: v for k, v in variables.items() if k != COLLECTION}
        inner["params"] = masked_params(variables, task_id, self.num_tasks)
        return self.network.apply(inner, obs, task_id, *args, **kwargs)

    def hidden_layers(self):
        return self.network.hidden_layers()

    def __getattr__(self, name: str):  # fields of the wrapped network (hidden, discrete, ...)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.network, name)


@register_component(NAME, "architecture", PackNetOptions,
                    "PackNet: prune free weights per task and freeze each task's own.")
def packnet(options: PackNetOptions) -> Component:
    def wrap_network(network, spec):
        if not isinstance(network, MLP_NETWORKS):
            raise ConfigError(NAME, "packnet masks the Dense kernels of a built-in network, "
                              f"but the network is a {type(network).__name__}; remove packnet or "
                              "the architecture component that replaces the network")
        return PackNetNetwork(network, spec.num_tasks)

    def init(key, params, spec):
        del key
        if COLLECTION not in params:
            raise ConfigError(NAME, "the network's variables have no owner table; packnet "
                              "must wrap the network (was another network put around it?)")
        prune_step = min(spec.updates_per_task,
                         max(1, round(options.prune_at * spec.updates_per_task)))
        return {
            "table": params[COLLECTION],
            "reference": params["params"],  # the value each frozen weight is held at
            "sealed": jnp.zeros(spec.num_tasks, jnp.float32),  # tasks whose weights are final
            "task": jnp.int32(-1),  # the task of the last gradient step
            "step": jnp.int32(0),  # gradient steps taken on that task
            "prune_step": jnp.int32(prune_step),
            "keep": keep_schedule(options.keep, spec.num_tasks),
        }

    def after_update(learner, state, batch, spec, key):
        del key
        num_tasks = spec.num_tasks
        task = batch.task_id
        step = jnp.where(task != state["task"], 0, state["step"]) + 1
        table = state["table"]
        sealed = state["sealed"][task] > 0
        pruned = table["pruned"][task] > 0
        shared_trainable = state["sealed"].sum() == 0  # only the first task trains them
        reference = _flat(state["reference"])
        restored = {}
        for path, value in _flat(learner.params["params"]).items():
            if path in table["owner"]:
                owner = table["owner"][path]
                free = owner == num_tasks
                trainable = ((owner == task) & ~sealed) | (free & ~pruned)
                restored[path] = jnp.where(trainable, value,
                                           jnp.where(free, 0.0, reference[path]))
            else:
                restored[path] = jnp.where(shared_trainable, value, reference[path])
        # Prune once, at the set step of a task that has not been pruned or sealed yet.
        do_prune = (step == state["prune_step"]) & ~pruned & ~sealed
        owners = dict(table["owner"])
        keep = state["keep"][task]
        for path, owner in table["owner"].items():
            weights, new_owner = prune(restored[path], owner, task, keep, num_tasks)
            restored[path] = jnp.where(do_prune, weights, restored[path])
            owners[path] = jnp.where(do_prune, new_owner, owner)
        table = {"owner": owners,
                 "pruned": table["pruned"].at[task].set(jnp.where(do_prune, 1.0,
                                                                  table["pruned"][task]))}
        new_params = _unflat(restored)
        params = {**learner.params, "params": new_params, COLLECTION: table}
        state = {**state, "table": table, "reference": new_params, "task": task, "step": step}
        return LearnerState(params, learner.opt_state), state

    def on_task_end(state, params, batch, spec, key):
        del params, spec, key
        return {**state, "sealed": state["sealed"].at[batch.task_id].set(1.0)}

    return Component(NAME, init, wrap_network=wrap_network, after_update=after_update,
                     on_task_end=on_task_end, requires_task_id=True, requires_boundaries=True)
