"""Replay components (importing this package registers them)."""
