"""Sweeps: a grid or random search over study config fields, run locally or on Ray.

`spec` reads a sweep file into trials, `scheduler` runs them, `summary` writes the table.
Nothing is imported here: a worker process imports `lifelong.sweep.trial` and must be able
to set its JAX device count before JAX starts.
"""
