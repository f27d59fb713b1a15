"""The off-policy learners' replay buffer: fixed-size device arrays, written inside jit.

The capacity is split into `regions` equal parts: one region for a `fifo` or `reservoir`
buffer, one per task for `per_task` buffers. A region is written first-in-first-out (the
oldest row is overwritten) or by reservoir sampling (Vitter's algorithm R: after n rows
offered, each of them is kept with the same probability, so old tasks keep their share
without any task boundary). Sampling draws a region uniformly among the non-empty ones,
then a row uniformly within it: a `per_task` buffer therefore serves every task seen so far
in equal parts, whatever its size.

A row is stored as one float32 vector (obs, action, reward, next obs, terminal flag, task
id), so the buffer is a single [capacity, width] array: XLA then updates it in place when
the training loop carries it (with several same-shaped arrays it was seen to copy them all
at every step). Action indices and task ids are small integers, exact in float32.

Rows arrive with a `valid` mask (host-stepped envs flag the reset step of Gymnasium's
NEXT_STEP autoreset as invalid): invalid rows are never written.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from lifelong.components.replay.memory import slots, write_rows

Kind = Literal["fifo", "reservoir", "per_task"]


class Transitions(NamedTuple):
    obs: jax.Array  # [N, obs_dim]
    action: jax.Array  # [N] int32 or [N, action_dim] in [-1, 1]
    reward: jax.Array  # [N]
    next_obs: jax.Array  # [N, obs_dim]
    terminated: jax.Array  # [N] float32: 1 where the next state is terminal (no bootstrap)
    task_id: jax.Array  # [N] int32


class Buffer(struct.PyTreeNode):
    data: jax.Array  # [capacity, width] float32: packed rows
    added: jax.Array  # [regions] int32: rows offered to each region so far
    obs_dim: int = struct.field(pytree_node=False)  # the static layout of a row
    action_shape: tuple[int, ...] = struct.field(pytree_node=False)
    discrete: bool = struct.field(pytree_node=False)


def init(capacity: int, regions: int, obs_dim: int, action_shape: tuple[int, ...],
         discrete: bool) -> Buffer:
    """An empty buffer; `capacity` is rounded down to a multiple of `regions`."""
    n = capacity // regions * regions
    width = 2 * obs_dim + int(np.prod(action_shape)) + 3
    return Buffer(jnp.zeros((n, width)), jnp.zeros(regions, jnp.int32), obs_dim, action_shape,
                  discrete)


def _pack(rows: Transitions) -> jax.Array:
    n = rows.reward.shape[0]
    return jnp.concatenate([rows.obs, rows.action.reshape(n, -1).astype(jnp.float32),
                            rows.reward[:, None], rows.next_obs, rows.terminated[:, None],
                            rows.task_id[:, None].astype(jnp.float32)], axis=1)


def _unpack(buffer: Buffer, data: jax.Array) -> Transitions:
    d, a = buffer.obs_dim, int(np.prod(buffer.action_shape))
    action = data[:, d:d + a].reshape(-1, *buffer.action_shape)
    if buffer.discrete:
        action = jnp.round(action).astype(jnp.int32)
    return Transitions(data[:, :d], action, data[:, d + a], data[:, d + a + 1:2 * d + a + 1],
                       data[:, -2], jnp.round(data[:, -1]).astype(jnp.int32))


def clear(buffer: Buffer) -> Buffer:
    """The buffer emptied (its arrays are kept; nothing is read before it is rewritten)."""
    return buffer.replace(added=jnp.zeros_like(buffer.added))


def _region_size(buffer: Buffer) -> int:
    return buffer.data.shape[0] // buffer.added.shape[0]


def filled(buffer: Buffer) -> jax.Array:
    """[regions] rows held in each region."""
    return jnp.minimum(buffer.added, _region_size(buffer))


def clear_region(buffer: Buffer, region: jax.Array) -> Buffer:
    """The buffer with one region emptied."""
    return buffer.replace(added=buffer.added.at[region].set(0))


def add(buffer: Buffer, rows: Transitions, valid: jax.Array, kind: Kind,
        key: jax.Array, region: jax.Array | None = None) -> Buffer:
    """Writes the valid rows of `rows` ([B, ...], one task id for all) to `region`, by
    default the region of their task (`per_task`) or the only region."""
    size, batch = _region_size(buffer), valid.shape[0]
    regions = buffer.added.shape[0]
    if region is None:
        region = rows.task_id[0] % regions if kind == "per_task" else jnp.int32(0)
    order = jnp.argsort(~valid, stable=True)  # valid rows first, in their order
    packed = _pack(rows)[order]
    count = valid.sum().astype(jnp.int32)
    offered = buffer.added[region]
    if kind == "reservoir":
        slot = slots(offered, batch, size, key)
    else:
        slot = (offered + jnp.arange(batch, dtype=jnp.int32)) % size
    slot = jnp.where(jnp.arange(batch) < count, region * size + slot, buffer.added.shape[0] * size)
    return buffer.replace(data=write_rows(buffer.data, slot, packed),
                           added=buffer.added.at[region].add(count))


def sample(buffer: Buffer, batch_size: int, key: jax.Array) -> Transitions:
    """`batch_size` rows with replacement: a non-empty region uniformly, then a row in it.
    (All zeros while the buffer is empty; the learner does not update then.)"""
    key_region, key_row = jax.random.split(key)
    held = filled(buffer)
    region = jax.random.categorical(key_region, jnp.where(held > 0, 0.0, -jnp.inf),
                                    shape=(batch_size,))
    region = jnp.where(held.sum() > 0, region, 0)
    row = jax.random.randint(key_row, (batch_size,), 0, jnp.maximum(held[region], 1))
    return _unpack(buffer, buffer.data[region * _region_size(buffer) + row])
