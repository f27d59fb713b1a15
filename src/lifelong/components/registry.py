"""Component registry: name -> family, options model and factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from lifelong.components.component import Component


class ComponentOptions(BaseModel):
    """Options every component accepts; each component adds its own fields."""

    model_config = ConfigDict(extra="forbid")

    name: str


@dataclass(frozen=True)
class ComponentEntry:
    name: str
    family: str  # regularization, replay, optimization, architecture, plasticity, memory
    options: type[ComponentOptions]
    factory: Callable[[ComponentOptions], Component]
    description: str


COMPONENTS: dict[str, ComponentEntry] = {}


def register_component(name: str, family: str, options: type[ComponentOptions],
                       description: str):
    """Decorator registering `factory(options) -> Component` under `name`."""

    def decorate(factory: Callable[[ComponentOptions], Component]):
        COMPONENTS[name] = ComponentEntry(name, family, options, factory, description)
        return factory

    return decorate


def make_component(options: ComponentOptions) -> Component:
    return COMPONENTS[options.name].factory(options)
