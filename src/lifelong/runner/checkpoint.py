"""Checkpoints: an agent's run state in flax's msgpack format (no pickle), written atomically.

A checkpoint file is one JSON header line (format, agent, stream position, eval periods done
in the next task, elapsed seconds, the SHA-256 of the resolved config and of the payload)
followed by the msgpack payload: the agent state of every seed, the returns and diagnostics
so far and, inside a task, the rest of the task's carry (env states, PRNG keys, ...). It is
written to a temporary file and renamed, so a kill leaves either the old checkpoint or the
new one, never half of one; a bad checksum or a config that changed since is an error,
never a silent restart.

optax's `named_chain` keeps its state in an `OrderedDict`, which flax does not know; it is
registered here as a mapping of its own keys, so every learner and component state
round-trips.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
from flax import serialization

from lifelong.atomic import atomic_write
from lifelong.errors import ConfigError

FORMAT = 1


def _ordered_dict_to_state(value: OrderedDict) -> dict[str, Any]:
    return {str(k): serialization.to_state_dict(v) for k, v in value.items()}


def _ordered_dict_from_state(target: OrderedDict, state: dict[str, Any]) -> OrderedDict:
    missing = set(map(str, target)) ^ set(state)
    if missing:
        raise ValueError(f"saved state and target disagree on keys {sorted(missing)}")
    return OrderedDict((k, serialization.from_state_dict(v, state[str(k)]))
                       for k, v in target.items())


serialization.register_serialization_state(OrderedDict, _ordered_dict_to_state,
                                           _ordered_dict_from_state, override=True)


def state_to_bytes(state: Any) -> bytes:
    return serialization.to_bytes(state)


def state_from_bytes(template: Any, data: bytes) -> Any:
    """The state saved in `data`, with the tree structure of `template`."""
    return serialization.from_bytes(template, data)


class Snapshot(NamedTuple):
    """An agent's run after `position` stream positions and `evals_done` eval periods of the
    next one (real seeds only)."""

    position: int
    agent: Any  # AgentState, leaves [seeds, ...]
    returns: np.ndarray  # [seeds, 1 + position * evals_per_task + evals_done, eval_tasks]
    diagnostics: dict[str, np.ndarray]  # name -> [seeds, position * evals_per_task + evals_done]
    evals_done: int = 0
    # Inside a task: the rest of the task's carry (env states, observations, episode returns,
    # PRNG key, last rollout), as a pytree or as the state dict a checkpoint holds; else None.
    carry: Any = None


def config_digest(resolved: dict[str, Any]) -> str:
    """SHA-256 of a resolved config (key order does not matter)."""
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()


def save(path: Path, agent_name: str, snapshot: Snapshot, config_sha256: str,
         elapsed_s: float) -> None:
    """Writes `snapshot` to `path` atomically."""
    state = {
        "agent": serialization.to_state_dict(jax.device_get(snapshot.agent)),
        "returns": np.asarray(snapshot.returns),
        "diagnostics": {k: np.asarray(v) for k, v in snapshot.diagnostics.items()},
    }
    if snapshot.carry is not None:
        state["carry"] = serialization.to_state_dict(jax.device_get(snapshot.carry))
    payload = serialization.msgpack_serialize(state)
    header = {"format": FORMAT, "agent": agent_name, "position": snapshot.position,
              "evals_done": snapshot.evals_done, "elapsed_s": elapsed_s,
              "config_sha256": config_sha256,
              "payload_sha256": hashlib.sha256(payload).hexdigest()}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(header).encode() + b"\n" + payload)


def verify(path: Path, config_sha256: str) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a checkpoint file, after checking its checksum and that
    it was written with the config of digest `config_sha256`; ConfigError otherwise."""
    data = path.read_bytes()
    line, _, payload = data.partition(b"\n")
    try:
        header = json.loads(line)
        ok = header["format"] == FORMAT
        ok = ok and hashlib.sha256(payload).hexdigest() == header["payload_sha256"]
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ConfigError("--resume", f"checkpoint {path} is corrupt (bad header or checksum); "
                          "delete it to restart that agent from its first task")
    if header["config_sha256"] != config_sha256:
        raise ConfigError("--resume", f"checkpoint {path} was written with a different "
                          "config.yaml; restore the run folder's config or start a new run")
    return header, payload


def load(path: Path, agent_template: Any, config_sha256: str) -> tuple[Snapshot, float]:
    """The snapshot in `path` and the seconds its run had taken; `agent_template` gives the
    state's tree structure and shapes (e.g. `jax.eval_shape` of the agent's init)."""
    header, payload = verify(path, config_sha256)
    try:
        data = serialization.msgpack_restore(payload)
        agent = serialization.from_state_dict(agent_template, data["agent"])
    except (ValueError, KeyError, TypeError) as error:
        raise ConfigError("--resume", f"checkpoint {path} does not match the agent "
                          f"({error}); start a new run") from None
    shapes_match = jax.tree.all(jax.tree.map(
        lambda t, x: tuple(t.shape) == np.shape(x), agent_template, agent))
    if not shapes_match:
        raise ConfigError("--resume", f"checkpoint {path} holds arrays of other shapes than "
                          "the agent; start a new run")
    snapshot = Snapshot(header["position"], agent, data["returns"], data["diagnostics"],
                        header.get("evals_done", 0), data.get("carry"))
    return snapshot, float(header["elapsed_s"])
