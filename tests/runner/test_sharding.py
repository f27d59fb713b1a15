"""Seeds sharded (and padded) over several CPU devices give exactly one device's results."""

import json
import os
import subprocess
import sys

SCRIPT = """
import json
import jax
from lifelong import config
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator, seed_keys, seed_sharding
from lifelong.scenarios import make_scenario
study = config.load(None, ["scenario.num_tasks=2", "agents={a: {components: [ewc]}}",
                           "seeds=3", "steps_per_task=1024", "eval_every=512"])
scenario = make_scenario(study.scenario)
evaluator, eval_params = make_evaluator(scenario, 2, False, 50)
loop = TaskLoop(build_agent(study.agents[0], scenario, 1024), evaluator, 1024, 512)
returns, _, agent = loop.run(seed_keys(0, 3), scenario.stream_tasks, eval_params)
assert returns.shape[0] == 3 and jax.tree.leaves(agent)[0].shape[0] == 3
print(json.dumps({"devices": len(jax.devices()), "sharded": seed_sharding(4) is not None,
                  "returns": returns.tolist()}))
"""


def _run(devices: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=300, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sharded_seeds_match_one_device():
    one, two = _run(1), _run(2)
    assert (one["devices"], one["sharded"]) == (1, False)
    assert (two["devices"], two["sharded"]) == (2, True)
    assert one["returns"] == two["returns"]
