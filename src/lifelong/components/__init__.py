"""Continual-learning components. Importing this package registers the built-in ones."""

from lifelong.components.architecture import multihead  # noqa: F401
from lifelong.components.component import AgentSpec, Batch, Component, LearnerState
from lifelong.components.registry import (
    COMPONENTS,
    ComponentOptions,
    make_component,
    register_component,
)
from lifelong.components.regularization import ewc, l2  # noqa: F401

__all__ = [
    "COMPONENTS", "AgentSpec", "Batch", "Component", "ComponentOptions", "LearnerState",
    "make_component", "register_component",
]
