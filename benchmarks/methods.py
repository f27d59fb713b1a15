"""The method table: fine-tuning, the multitask reference and every registered component,
on permuted CartPole and on cycled MinAtar, in Continual World's format.

For each scenario it runs one study (all methods, N seeds, same keys) with `run_study`, then
prints and writes a table with average performance, forgetting and forward transfer (90%
bootstrap CIs), relearning across cycles (later-cycle minus first-cycle window AUC: does a
method keep learning as fast as on the first visit?), the run's wall-clock time, and each
method's cost per env step relative to fine-tuning, timed on one warm (compiled) task.

    .venv/bin/python benchmarks/methods.py                       # both scenarios, 5 seeds
    .venv/bin/python benchmarks/methods.py --scenario cartpole-permuted --seeds 3
    .venv/bin/python benchmarks/methods.py --methods finetune,ewc,redo --steps-per-task 51200
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from lifelong import config  # noqa: E402
from lifelong.components import COMPONENTS  # noqa: E402
from lifelong.evaluation.metrics import bootstrap_ci, relearning  # noqa: E402
from lifelong.evaluation.rollout import stack_params  # noqa: E402
from lifelong.report.run_folder import load_run  # noqa: E402
from lifelong.report.tables import format_cell, format_number  # noqa: E402
from lifelong.runner.agent import build_agent  # noqa: E402
from lifelong.runner.loop import TaskLoop, make_evaluator, seed_keys  # noqa: E402
from lifelong.runner.study import resume_study, run_study  # noqa: E402
from lifelong.scenarios import make_scenario  # noqa: E402

# Each scenario: the study settings shared by all methods. MinAtar games differ in their
# environment, so the multitask reference (one env for all tasks) runs on CartPole only.
SCENARIOS = {
    "cartpole-permuted": {
        "scenario": {"name": "cartpole-permuted", "num_tasks": 4},
        "steps_per_task": 153_600, "eval_every": 15_360,
        "eval": {"episodes": 8, "greedy": True},
    },
    "minatar": {
        "scenario": {"name": "minatar", "games": ["Breakout", "SpaceInvaders"], "cycles": 2},
        "learner": {"name": "ppo", "num_envs": 64, "num_steps": 32, "lr": 5e-4,
                    "hidden": [256, 256], "activation": "relu"},
        "steps_per_task": 491_520, "eval_every": 49_152,
        "eval": {"episodes": 8, "max_steps": 1000},
    },
}
MULTITASK_SCENARIOS = {"cartpole-permuted"}
# Non-default options the table uses, and why (every other component runs its defaults).
OPTIONS = {
    "l2": {"strength": 0.1},  # 1.0 (the default) stops PPO from learning later tasks
}


def method_agents(scenario: str, methods: list[str] | None) -> dict[str, dict]:
    agents = {"finetune": {}}
    if scenario in MULTITASK_SCENARIOS:
        agents["multitask"] = {"multitask": True}
    for name in sorted(COMPONENTS):
        agents[name] = {"components": [{"name": name, **OPTIONS.get(name, {})}]}
    if methods:
        unknown = set(methods) - set(agents)
        if unknown:
            raise SystemExit(f"--methods: unknown {sorted(unknown)}; choose from {list(agents)}")
        agents = {name: a for name, a in agents.items() if name in methods}
    return agents


def step_cost(study: config.Study, repeats: int) -> dict[str, float]:
    """Seconds per env step of each agent's training on the first task, compiled and warm."""
    scenario = make_scenario(study.scenario)
    cfg = study.config
    evaluator, eval_params = make_evaluator(scenario, 1, True, 1)
    task = scenario.stream_tasks[0]
    keys = seed_keys(cfg.seed, cfg.seeds)
    costs = {}
    for agent in study.agents:
        loop = TaskLoop(build_agent(agent, scenario, cfg.steps_per_task), evaluator,
                        cfg.steps_per_task, cfg.steps_per_task, multitask=agent.multitask)
        state = loop._init(keys)
        params = task.params
        if agent.multitask:
            params = stack_params([t.params for t in scenario.tasks])
        train = loop.train_function(task.env, len(scenario.stream) if agent.multitask else 1)
        jax.block_until_ready(train(state, params, eval_params, keys))  # compile
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            jax.block_until_ready(train(state, params, eval_params, keys))
            times.append(time.perf_counter() - started)
        steps = cfg.steps_per_task * cfg.seeds * (len(scenario.stream) if agent.multitask else 1)
        costs[agent.name] = statistics.median(times) / steps
    return costs


def table(run_dir: Path, costs: dict[str, float]) -> str:
    run = load_run(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    header = ["method", "family", "performance [90% CI]", "forgetting [90% CI]",
              "forward transfer [90% CI]", "relearning [90% CI]", "wall-clock (s)",
              "cost / step vs finetune"]
    lines = ["| " + " | ".join(header) + " |", "|---|---" + "|---:" * 6 + "|"]
    for agent in run.agents:
        row = {"agent": agent}
        for name in ("average_performance", "forgetting", "forward_transfer"):
            for stat in ("mean", "ci_low", "ci_high"):
                row[f"{name}_{stat}"] = metrics[agent][name][stat]
        gaps = relearning(run.scores[agent], run.layout.stream)
        relearn = ("n/a" if np.isnan(gaps).all() else
                   "{} [{}, {}]".format(*map(format_number, bootstrap_ci(gaps))))
        family = COMPONENTS[agent].family if agent in COMPONENTS else "reference"
        cells = [agent, family, format_cell(row, "average_performance"),
                 format_cell(row, "forgetting"), format_cell(row, "forward_transfer"), relearn,
                 f"{metrics[agent]['wall_clock_s']:.0f}",
                 f"{costs[agent] / costs['finetune']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps-per-task", type=int, help="override the scenario's budget")
    parser.add_argument("--eval-every", type=int, help="override the scenario's eval period")
    parser.add_argument("--methods", help="comma-separated subset (finetune is always kept)")
    parser.add_argument("--repeats", type=int, default=3, help="timed warm calls per method")
    parser.add_argument("--out", default="runs/bench-methods")
    args = parser.parse_args()
    methods = None if not args.methods else ["finetune", *args.methods.split(",")]
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        data = {**SCENARIOS[name], "seeds": args.seeds,
                "agents": method_agents(name, methods)}
        if args.steps_per_task:
            data["steps_per_task"] = args.steps_per_task
        if args.eval_every:
            data["eval_every"] = args.eval_every
        study = config.resolve(data)
        run_dir = Path(args.out) / name
        print(f"== {name}: {len(study.agents)} methods x {args.seeds} seeds ==", flush=True)
        if (run_dir / "config.yaml").exists():  # a stopped (or finished) run: continue it
            if config.load(run_dir / "config.yaml").dump() != study.dump():
                raise SystemExit(f"{run_dir} holds a run with other settings; remove it or "
                                 "pass --out")
            resume_study(run_dir)
        else:
            run_study(study, run_dir)
        costs = step_cost(study, args.repeats)
        text = table(run_dir, costs)
        (run_dir / "methods.md").write_text(text)
        print(text, flush=True)


if __name__ == "__main__":
    main()
