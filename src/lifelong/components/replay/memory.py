"""A fixed-size reservoir memory of states and the agent's outputs on them (not a component).

Pure functions over the `Memory` NamedTuple, shared by `reservoir`, `clear` and `agem`:

- `init(size, spec)` allocates every array at its final shape (nothing grows later);
- `add(memory, obs, head, value, task_id, key)` inserts a batch with reservoir sampling
  (Vitter's algorithm R): the n-th item of the stream (0-based) goes to slot n while the
  memory has room, and later to a slot j ~ U{0, ..., n}, kept only if j < size. So after
  n items every one of them is in the memory with the same probability size / n. A batch
  is drawn at once; when two items of a batch pick the same slot, the later one wins,
  exactly as if they had been inserted one after the other;
- `sample(memory, batch_size, key)` draws uniformly, with replacement, from the filled
  slots; its `valid` weight is 0 while the memory is empty (the drawn rows are then zeros);
- `record` offers random rows of a batch with the network's current outputs on them;
  `outputs` evaluates the network on items that each carry their own task id (a scalar or
  per-row task id in a batch is handled alike), and
  `cloning_loss` is the policy-KL + value-MSE distillation loss on a sample.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from lifelong.components.component import AgentSpec


class Memory(NamedTuple):
    obs: jax.Array  # [N, obs_dim]
    head: Any  # policy head output at insertion: logits [N, A] or (mean, log_std) [N, A] each
    value: jax.Array  # [N] value at insertion
    task_id: jax.Array  # [N] int32
    seen: jax.Array  # [] int32: items offered so far (filled slots: min(seen, N))


class Sample(NamedTuple):
    obs: jax.Array  # [B, obs_dim]
    head: Any  # [B, ...] like Memory.head
    value: jax.Array  # [B]
    task_id: jax.Array  # [B]
    valid: jax.Array  # [] float32: 1 when drawn from a non-empty memory, else 0


def init(size: int, spec: AgentSpec) -> Memory:
    """An empty memory of `size` slots for the agent described by `spec`."""
    action = jnp.zeros((size, spec.action_dim), jnp.float32)
    head = action if spec.discrete else (action, action)
    return Memory(jnp.zeros((size, spec.obs_dim), jnp.float32), head,
                  jnp.zeros(size, jnp.float32), jnp.zeros(size, jnp.int32), jnp.int32(0))


def size(memory: Memory) -> int:
    return memory.obs.shape[0]


def filled(memory: Memory) -> jax.Array:
    """Number of filled slots."""
    return jnp.minimum(memory.seen, size(memory))


def slots(seen: jax.Array, batch: int, capacity: int, key: jax.Array) -> jax.Array:
    """Algorithm R's slot for each of `batch` incoming items ([batch] int32; `capacity`
    means "discarded"). Item i is the stream's item n = seen + i."""
    n = seen + jnp.arange(batch, dtype=jnp.int32)
    draw = jax.random.randint(key, (batch,), 0, n + 1)  # U{0, ..., n}
    slot = jnp.where(n < capacity, n, draw)
    return jnp.where(slot < capacity, slot, capacity).astype(jnp.int32)


def add(memory: Memory, obs: jax.Array, head: Any, value: jax.Array, task_id: jax.Array,
        key: jax.Array) -> Memory:
    """Offers the batch `obs` [B, obs_dim], `head` [B, ...], `value` [B] and `task_id`
    ([B] or scalar) to the reservoir."""
    capacity, batch = size(memory), obs.shape[0]
    slot = slots(memory.seen, batch, capacity, key)
    task_id = jnp.broadcast_to(jnp.asarray(task_id, jnp.int32), (batch,))
    stored = (memory.obs, memory.head, memory.value, memory.task_id)
    obs, head, value, task_id = write_rows(stored, slot, (obs, head, value, task_id))
    return Memory(obs, head, value, task_id, memory.seen + jnp.int32(batch))


def write_rows(stored: Any, slot: jax.Array, incoming: Any) -> Any:
    """`stored` (a tree of [capacity, ...] arrays) with row i of `incoming` written to slot
    `slot[i]`; a slot >= capacity drops the row, and when two rows aim at one slot the later
    one wins, exactly as if they had been written one after the other. A scatter: the cost
    is the batch's, not the capacity's."""
    capacity = jax.tree.leaves(stored)[0].shape[0]
    overwritten = jnp.triu(slot[:, None] == slot[None, :], k=1).any(axis=1)
    slot = jnp.where(overwritten, capacity, slot)
    return jax.tree.map(lambda old, new: old.at[slot].set(new.astype(old.dtype), mode="drop"),
                        stored, incoming)


def sample(memory: Memory, batch_size: int, key: jax.Array) -> Sample:
    """`batch_size` items drawn uniformly with replacement from the filled slots."""
    count = filled(memory)
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(count, 1))
    valid = (count > 0).astype(jnp.float32)
    pick = lambda x: x[index] * valid.astype(x.dtype)  # noqa: E731  (zeros when empty)
    return Sample(pick(memory.obs), jax.tree.map(pick, memory.head), pick(memory.value),
                  memory.task_id[index], valid)


def outputs(spec: AgentSpec, params, obs: jax.Array, task_id: jax.Array):
    """(head, value) of the network on `obs` [B, obs_dim], item i seen with `task_id[i]`."""
    # The barrier keeps XLA from merging these matmuls with the learner's own on the same
    # weights, which would change the learner's rounding (strength 0 must be fine-tuning).
    params = jax.lax.optimization_barrier(params)

    def one(single_obs, single_task):
        head, value = spec.apply(params, single_obs[None], single_task)
        return jax.tree.map(lambda x: x[0], head), value[0]

    return jax.vmap(one)(obs, task_id)


def choose(rows: int, count: int, key: jax.Array) -> jax.Array:
    """Indices of `count` distinct rows out of `rows` (all when there are no more), random."""
    return jax.random.permutation(key, rows)[:min(count, rows)]


def record(memory: Memory, spec: AgentSpec, params, obs: jax.Array, task_id: jax.Array,
           count: int, key: jax.Array) -> Memory:
    """Offers `count` random rows of `obs` [B, obs_dim] (seen with `task_id`, [] or [B]) to
    the reservoir, with the outputs of the network `params` on them."""
    key_choose, key_add = jax.random.split(key)
    rows = choose(obs.shape[0], count, key_choose)
    task_id = jnp.broadcast_to(jnp.asarray(task_id, jnp.int32), obs.shape[:1])[rows]
    obs = obs[rows]
    head, value = jax.lax.stop_gradient(outputs(spec, params, obs, task_id))
    return add(memory, obs, head, value, task_id, key_add)


def cloning_loss(spec: AgentSpec, params, replay: Sample) -> tuple[jax.Array, jax.Array]:
    """(mean KL(stored policy || current policy), mean (V - V_stored)^2) on `replay`,
    both 0 when the sample is not valid."""
    head, value = outputs(spec, params, replay.obs, replay.task_id)
    kl = spec.distribution.kl(replay.head, head).mean()
    value_error = ((value - replay.value) ** 2).mean()
    return replay.valid * kl, replay.valid * value_error
