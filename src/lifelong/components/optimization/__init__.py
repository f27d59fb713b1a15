"""Optimization components (importing this package registers them)."""
