"""One output head per task (actor and critic), chosen by the visible task id.

The shared torso keeps learning across tasks; each task's last layer is its own. Needs the
scenario to show task identity.
"""

from __future__ import annotations

from lifelong.components.component import Component
from lifelong.components.registry import ComponentOptions, register_component


class MultiheadOptions(ComponentOptions):
    pass


@register_component("multihead", "architecture", MultiheadOptions,
                    "A separate output head per task, selected by task id.")
def multihead(options: MultiheadOptions) -> Component:
    del options

    def init(key, params, spec):
        del key, params, spec
        return {}

    return Component("multihead", init,
                     configure_network=lambda spec: {"num_heads": spec.num_tasks},
                     requires_task_id=True)
