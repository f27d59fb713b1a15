"""Plasticity components (importing this package registers them)."""
