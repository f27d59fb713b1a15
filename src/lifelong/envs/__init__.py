"""Environments and the wrapper that turns a gymnax env plus task parameters into one task."""

from lifelong.envs.task_env import TaskEnv, TaskParams

__all__ = ["TaskEnv", "TaskParams"]
