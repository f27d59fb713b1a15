"""Agent state to bytes and back, in flax's msgpack format (no pickle).

optax's `named_chain` keeps its state in an `OrderedDict`, which flax does not know; it is
registered here as a mapping of its own keys, so every learner and component state
round-trips.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from flax import serialization


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
