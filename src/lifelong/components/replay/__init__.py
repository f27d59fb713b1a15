"""Replay components (importing this package registers them); `memory` is their shared
reservoir memory."""

from lifelong.components.replay import clear, memory, reservoir  # noqa: F401
