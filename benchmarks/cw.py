"""Continual World (CW10, Meta-World v3) with lifelong SAC: a reduced-budget method table,
and the wall-clock of the paper's full-budget runs, projected from one timed task.

Table (default): the study of examples/cw10.yaml (SAC with Continual World's 4x256 networks,
one output head per task, the paper's protocol and evaluation) for fine-tuning, EWC and
PackNet only, at --steps-per-task env steps per task (the paper: 1M) with an evaluation every
fifth of a task, over --seeds seeds; it prints average performance, forgetting and forward
transfer with their 90% bootstrap CIs as a markdown table. The run folder (--out) keeps the
curves and the report; a stopped run continues where it stopped when the same command runs
again. Besides the three methods, the study trains the single-task reference of every task
(for forward transfer; cached on disk per setting).

--time-one-task: times the training of one Meta-World task (--task, default hammer-v3) at
the paper's settings over --time-steps env steps after compilation and the first updates
(per-step cost apart from each eval point's fixed cost, the plasticity diagnostics, which
is measured too), and one evaluation call on that task (10 stochastic episodes of 200
steps); then projects the wall-clock of one task at 1M steps, of full CW10 (10 tasks) and
CW20 (20 tasks) runs per method (every 20k steps a run evaluates all 10 tasks), of the
single-task references, and of this script's table at --steps-per-task. The projection is
for one seed unless --seeds is given (seeds run vmapped: one process steps all their envs).

    .venv/bin/python benchmarks/cw.py --time-one-task   # about 3-5 minutes
    .venv/bin/python benchmarks/cw.py                   # many hours: see the projection
    .venv/bin/python benchmarks/cw.py --steps-per-task 400 --seeds 1 --tasks 2 \\
        --eval-episodes 1 --out /tmp/cw-smoke            # smoke check, about 10 minutes

Needs the mujoco extra (.venv/bin/pip install -e '.[mujoco]').
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import yaml

CONFIG = Path(__file__).resolve().parent.parent / "examples" / "cw10.yaml"
METHODS = ("finetune", "ewc", "packnet")
METRICS = ("average_performance", "forgetting", "forward_transfer")
EVALS_PER_TASK = 5  # the table's evaluation points per task
PERIOD = 500  # env steps per timed call of --time-one-task


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps-per-task", type=int, default=50_000,
                        help=f"env steps per task of the table (a multiple of {EVALS_PER_TASK})")
    parser.add_argument("--seeds", type=int,
                        help="seeds, trained as one vmapped batch (default: 3 for the table, "
                        "1 for --time-one-task)")
    parser.add_argument("--tasks", type=int, help="only the first N CW10 tasks (smoke checks)")
    parser.add_argument("--eval-episodes", type=int,
                        help="evaluation episodes per task (default: examples/cw10.yaml's 10)")
    parser.add_argument("--out", default="runs/bench-cw10", help="the table's run folder")
    parser.add_argument("--time-one-task", action="store_true",
                        help="time one task and project the full runs instead of the table")
    parser.add_argument("--task", default="hammer-v3", help="the Meta-World task to time")
    parser.add_argument("--method", default="finetune",
                        help="the agent of examples/cw10.yaml to time (default finetune)")
    parser.add_argument("--time-steps", type=int, default=3000,
                        help=f"timed env steps of --time-one-task (a multiple of {PERIOD})")
    args = parser.parse_args(argv)
    if args.steps_per_task % EVALS_PER_TASK:
        parser.error(f"--steps-per-task must be a multiple of {EVALS_PER_TASK}")
    if args.time_steps % PERIOD or args.time_steps <= 0:
        parser.error(f"--time-steps must be a positive multiple of {PERIOD}")
    return args


def require_meta_world() -> None:
    """Exits with status 2 and one line when Meta-World cannot be imported (e.g. missing, or
    next to a MuJoCo it does not support)."""
    try:
        import metaworld  # noqa: F401
    except (ImportError, OSError) as error:
        print(f"benchmarks/cw.py needs Meta-World ({error}); install the mujoco extra: "
              ".venv/bin/pip install -e '.[mujoco]'", file=sys.stderr)
        sys.exit(2)


def overrides(args: argparse.Namespace, agents: dict, seeds: int) -> list[str]:
    """`config.load` overrides shared by both modes (JSON is YAML)."""
    from lifelong.scenarios.continual_world import CW10

    items = [f"agents={json.dumps(agents)}", f"seeds={seeds}"]
    if args.tasks:
        items.append(f"scenario.tasks={json.dumps(CW10[:args.tasks])}")
    if args.eval_episodes:
        items.append(f"eval.episodes={args.eval_episodes}")
    return items


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def run_table(args: argparse.Namespace, agents: dict) -> Path:
    from lifelong import config
    from lifelong.runner.study import resume_study, run_study

    steps = args.steps_per_task
    study = config.load(CONFIG, [*overrides(args, agents, args.seeds or 3),
                                 f"steps_per_task={steps}",
                                 f"eval_every={steps // EVALS_PER_TASK}"])
    run_dir = Path(args.out)
    print(f"CW10: {', '.join(agents)} x {study.config.seeds} seed(s), {steps:,} steps per "
          f"task, run folder {run_dir}", flush=True)
    if (run_dir / "config.yaml").is_file():  # a stopped (or finished) run: continue it
        if config.load(run_dir / "config.yaml").dump() != study.dump():
            raise SystemExit(f"{run_dir} holds a run with other settings; remove it or pass "
                             "--out")
        resume_study(run_dir)
    else:
        run_study(study, run_dir)
    return run_dir


def table(run_dir: Path) -> str:
    from lifelong.report.tables import format_number

    metrics = json.loads((run_dir / "metrics.json").read_text())
    lines = ["| method | average performance [90% CI] | forgetting [90% CI] | "
             "forward transfer [90% CI] | wall-clock (h) |", "|---|---:|---:|---:|---:|"]
    for method, values in metrics.items():
        cells = [method]
        for name in METRICS:
            m = values[name]
            cells.append(f"{format_number(m['mean'])} [{format_number(m['ci_low'])}, "
                         f"{format_number(m['ci_high'])}]")
        cells.append(f"{values['wall_clock_s'] / 3600:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# --time-one-task
# --------------------------------------------------------------------------------------------


class Timing(NamedTuple):
    step_s: float  # training seconds per env step (all seeds together)
    point_s: float  # fixed seconds per eval period besides the evaluation (diagnostics)
    eval_s: float  # seconds of one evaluation call on one task
    cores: float  # CPU cores busy while training


def time_one_task(args: argparse.Namespace, agents: dict) -> tuple[Timing, object]:
    """The timing of one task at the paper's settings, with `args.seeds or 1` seeds vmapped,
    and the study of those settings.

    Training is timed by `sac_throughput.period_costs`: `PERIOD`-step eval periods after
    enough of them to compile and fill the buffer up to `learning_starts` (so every timed
    step updates), then short periods, whose difference gives the per-step cost apart from
    each eval point's fixed cost. Those periods end with a one-step evaluation; the paper's
    evaluation is timed separately, on its second call (the first builds the evaluation envs
    and compiles the policy)."""
    from sac_throughput import SHORT, period_costs

    from lifelong import config
    from lifelong.runner.agent import build_agent
    from lifelong.runner.loop import make_evaluator, seed_keys
    from lifelong.scenarios import make_scenario

    seeds = args.seeds or 1
    study = config.load(CONFIG, [*overrides(args, agents, seeds),
                                 f"scenario={json.dumps({'name': 'cw10', 'tasks': [args.task]})}"])
    cfg = study.config
    agent = study.agents[0]
    scenario = make_scenario(study.scenario)
    quick_eval, eval_params = make_evaluator(scenario, episodes=1, greedy=True, max_steps=1)
    # Built with the paper's budget, so that components scheduled over a task (packnet)
    # behave as in the real run.
    learner = build_agent(agent, scenario, cfg.steps_per_task)
    keys = seed_keys(cfg.seed, seeds)
    started = time.perf_counter()
    step_s, point_s, cores, trained = period_costs(
        learner, scenario.stream_tasks[0], quick_eval, eval_params, keys, PERIOD,
        PERIOD // SHORT, max(1, -(-agent.learner.learning_starts // PERIOD)),
        args.time_steps // PERIOD)
    print(f"  training timed in {time.perf_counter() - started:.0f} s (compilation included)",
          flush=True)

    evaluator, _ = make_evaluator(scenario, cfg.eval.episodes, cfg.eval.greedy,
                                  cfg.eval.max_steps)
    evaluator(learner.actor, trained.learner.params, keys)
    started = time.perf_counter()
    evaluator(learner.actor, trained.learner.params, keys)
    return Timing(step_s, point_s, time.perf_counter() - started, cores), study


def hours(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def projection(args: argparse.Namespace, timing: Timing, study, all_agents: int) -> str:
    """Markdown table of projected wall-clock per method and for the seeds timed together,
    assuming every task trains and evaluates at the timed task's speed."""
    from lifelong import config
    from lifelong.scenarios import make_scenario

    cfg = study.config
    paper = {name: make_scenario(config.load(CONFIG, [f"scenario={{name: {name}}}"]).scenario)
             for name in ("cw10", "cw20")}
    references = len(paper["cw10"].eval_tasks)  # one single-task run per distinct task
    steps = args.steps_per_task
    table_tasks = args.tasks or len(paper["cw10"].stream)
    cw10_evaluated = len(paper["cw10"].eval_tasks)
    rows = [  # label, stream tasks, evaluated tasks, steps per task, eval every, whole run
        ("one CW10 task, per method", 1, cw10_evaluated, cfg.steps_per_task, cfg.eval_every,
         False),
        *[(f"{name.upper()}, per method", len(s.stream), len(s.eval_tasks), cfg.steps_per_task,
           cfg.eval_every, True) for name, s in paper.items()],
        ("one single-task reference", 1, 1, cfg.steps_per_task, cfg.eval_every, True),
        (f"the table ({steps:,} steps/task), per method", table_tasks, table_tasks, steps,
         steps // EVALS_PER_TASK, True),
        ("the table, one single-task reference", 1, 1, steps, steps // EVALS_PER_TASK, True),
    ]
    lines = ["| run | tasks | steps/task | training | eval points | total |",
             "|---|---:|---:|---:|---:|---:|"]
    totals = []
    for label, tasks, eval_tasks, steps_per_task, eval_every, whole in rows:
        train = timing.step_s * steps_per_task * tasks
        # Every eval point evaluates every eval task and computes the diagnostics; a whole
        # run also evaluates the untrained agent.
        points = tasks * steps_per_task // eval_every
        evaluate = (timing.eval_s * eval_tasks * (points + whole)
                    + timing.point_s * points)
        totals.append(train + evaluate)
        lines.append(f"| {label} | {tasks} | {steps_per_task:,} | {hours(train)} | "
                     f"{hours(evaluate)} | {hours(train + evaluate)} |")
    _, cw10, _, reference, table_method, table_reference = totals
    lines += [
        "",
        f"A study adds one single-task reference per task (CW10 and CW20: {references}), "
        f"cached on disk per setting: {hours(references * reference)} at the paper's budget.",
        f"CW10 with all {all_agents} agents of examples/cw10.yaml: about "
        f"{hours(all_agents * cw10 + references * reference)}.",
        f"This script's table ({len(METHODS)} methods + {table_tasks} references): about "
        f"{hours(len(METHODS) * table_method + table_tasks * table_reference)}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    require_meta_world()
    agents = yaml.safe_load(CONFIG.read_text())["agents"]
    if args.time_one_task:
        if args.method not in agents:
            raise SystemExit(f"--method: choose from {list(agents)}")
        import jax

        seeds = args.seeds or 1
        print(f"jax {jax.__version__}; timing {args.method} on {args.task}, {seeds} seed(s) "
              f"vmapped, {args.time_steps} steps", flush=True)
        timing, study = time_one_task(args, {args.method: agents[args.method]})
        ev = study.config.eval
        print(f"  training: {1 / timing.step_s:,.0f} steps/s for {seeds} seed(s) together "
              f"({1000 * timing.step_s:.1f} ms per step, {timing.cores:.2f} cores busy)")
        print(f"  fixed cost of an eval point besides the evaluation (diagnostics): "
              f"{timing.point_s:.1f} s")
        print(f"  one evaluation call on one task ({ev.episodes} episodes per seed, "
              f"{'greedy' if ev.greedy else 'stochastic'}): {timing.eval_s:.1f} s\n")
        print(f"Projected wall-clock of {args.method} for {seeds} seed(s) vmapped (the "
              "timed task's speed for every task):\n")
        print(projection(args, timing, study, len(agents)))
    else:
        run_dir = run_table(args, {name: agents[name] for name in METHODS})
        print(table(run_dir))


if __name__ == "__main__":
    main()
