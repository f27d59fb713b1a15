"""Continual-learning components. Importing this package registers the built-in ones."""

from lifelong.components import (  # noqa: F401  (the families register their components)
    architecture,
    optimization,
    plasticity,
    regularization,
    replay,
)
from lifelong.components.component import (
    AgentSpec,
    Batch,
    Component,
    HiddenLayer,
    LearnerState,
)
from lifelong.components.registry import (
    COMPONENTS,
    ComponentOptions,
    make_component,
    register_component,
)

__all__ = [
    "COMPONENTS", "AgentSpec", "Batch", "Component", "ComponentOptions", "HiddenLayer",
    "LearnerState",
    "make_component", "register_component",
]
