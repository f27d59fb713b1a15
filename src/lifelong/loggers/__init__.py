"""Logging backends: every eval point of a run, as the field's tools read it.

The run folder's Parquet files are always written (`runner/results.py`); these loggers add
TensorBoard event files, a Weights & Biases run (offline by default) and the l2logger
format that DARPA L2M's l2metrics reads. Each receives one `EvalRecord` per finished task.
"""

from lifelong.loggers.record import EvalRecord, Logger, make_loggers

__all__ = ["EvalRecord", "Logger", "make_loggers"]
