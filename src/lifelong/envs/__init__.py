"""Environments: gymnax envs seen through task parameters (`TaskEnv`), and Gymnasium envs
stepped on the host (`HostEnv`)."""

from lifelong.envs.host_env import HostEnv, HostStep, HostVector, host_params, make_host_env
from lifelong.envs.task_env import TaskEnv, TaskParams

__all__ = ["HostEnv", "HostStep", "HostVector", "TaskEnv", "TaskParams", "host_params",
           "make_host_env"]
