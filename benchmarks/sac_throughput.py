"""Training throughput (env steps per second, updates included) of lifelong SAC and
Stable-Baselines3 SAC with matched settings.

Settings shared by every row: one env per seed, one gradient step on a batch of 256 per env
step, lr 3e-4, gamma 0.99, tau 0.005, automatic entropy tuning, a 1M-transition replay
buffer, ReLU actor and critics of the row's width, and 100 uniformly random steps before the
first update (SB3's `learning_starts`; lifelong's `random_steps` and `learning_starts`).

Rows, for 256x256 networks (both libraries' default and Continual World's width) and 64x64:
  * Pendulum-v1: lifelong SAC fully jitted on gymnax's Pendulum, 1 seed and N seeds vmapped
    (aggregate steps/s over the seeds); lifelong SAC host-stepped on Gymnasium's Pendulum
    (the env steps in Python, one jitted call per step); SB3 SAC on Gymnasium's Pendulum;
  * HalfCheetah-v5 (needs the mujoco extra): lifelong SAC host-stepped (scenario
    `mujoco-shift` with one unshifted task) and SB3 SAC.
Each lifelong row's ratio is to the SB3 row of the same env and width.

Timing: both libraries first pass the random steps and start updating (and lifelong
compiles), so every timed step updates. SB3 is timed over --steps. lifelong trains in eval
periods, each ending with an eval point (here a one-step evaluation plus the plasticity
diagnostics lifelong records at every eval point), which SB3 does not have: its rate is the
slope between --steps/4-step periods and periods a 20th as long, which excludes the eval
point's fixed cost; that cost is its own column (in real runs it recurs every `eval_every`
steps). Both libraries run in this one process, one row at a time: SB3 with
`torch.set_num_threads(1)` (as fast as 2 threads on 2 cores), XLA with its default thread
pool; the cores column (process CPU time / wall time) shows what each row used.

    .venv/bin/python benchmarks/sac_throughput.py             # about 10 minutes on 2 CPU cores
    .venv/bin/python benchmarks/sac_throughput.py --quick     # 64x64 only, a smoke check
    .venv/bin/python benchmarks/sac_throughput.py --skip-sb3  # lifelong rows only
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from throughput import busy_cores

LEARNING_STARTS = 100  # SB3's default; lifelong's random_steps and learning_starts match it
BATCH = 256
LR = 3e-4
GAMMA = 0.99
TAU = 0.005
PERIODS = 4  # lifelong's timed --steps are this many eval periods
WARMUP = 2  # periods before the timed ones: the first period's carry comes from `start`,
# later ones from `chunk`, and their types may differ (gymnax Pendulum's state has a
# weak-typed leaf after reset), which compiles `chunk` a second time on its second call
SHORT = 20  # the short periods are this many times shorter
SHORT_CALLS = 2  # timed short periods, after one that compiles


@dataclass
class Row:
    env: str
    setup: str
    width: int
    seeds: int
    steps_per_s: float  # aggregate over the seeds
    cores: float
    eval_point_s: float | None = None  # lifelong's fixed cost per eval period
    sb3: bool = False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int,
                        help="timed env steps per seed of every row (default 3200; --quick 800)")
    parser.add_argument("--seeds", type=int,
                        help="seeds of the vmapped gymnax rows (default 4; --quick 2)")
    parser.add_argument("--buffer-size", type=int, default=1_000_000,
                        help="replay capacity of both libraries")
    parser.add_argument("--skip-sb3", action="store_true", help="only the lifelong rows")
    parser.add_argument("--quick", action="store_true",
                        help="smoke check: 64x64 rows only, 800 steps, 2 seeds")
    args = parser.parse_args(argv)
    args.steps = args.steps or (800 if args.quick else 3200)
    args.seeds = args.seeds or (2 if args.quick else 4)
    args.widths = [64] if args.quick else [256, 64]
    # lifelong's warm-up (half of --steps) and SB3's (a quarter) must pass the random steps
    # and run some updates.
    if args.steps % (PERIODS * SHORT) or args.steps // PERIODS < 2 * LEARNING_STARTS:
        parser.error(f"--steps must be a multiple of {PERIODS * SHORT} and at least "
                     f"{PERIODS * 2 * LEARNING_STARTS}")
    return args


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, cores busy = process CPU time / wall time) of `run()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    wall = time.perf_counter() - wall
    return wall, (time.process_time() - cpu) / wall


# --------------------------------------------------------------------------------------------
# lifelong
# --------------------------------------------------------------------------------------------


def period_costs(learner, task, evaluator, eval_params, keys, long: int, short: int,
                 warmup: int, timed_long: int) -> tuple[float, float, float, object]:
    """(seconds per env step of all seeds together, seconds per eval point, cores busy in
    the timed long periods, the trained agent) of training `learner` on `task`.

    Goes through the task loop's training functions (`TaskLoop.training`), one call per eval
    period: `warmup` long periods (compilation, the random steps, the empty buffer), then
    `timed_long` timed ones, then a loop with `short` periods continues the same training
    state (a compiling call and `SHORT_CALLS` timed ones). The per-step cost is the slope
    between the two period lengths; what remains of a short period is the eval point's
    fixed cost (`evaluator` and the plasticity diagnostics).
    """
    import jax

    from lifelong.runner.loop import TaskLoop

    # A loop's budget only sets how many periods its `train` would run; `chunk` is used here.
    long_loop = TaskLoop(learner, evaluator, long, long)
    long_run = long_loop.training(task.env)
    short_run = TaskLoop(learner, evaluator, short, short).training(task.env)
    carry = long_run.start(long_loop._init(keys), task.params, keys)

    def periods(training, count: int) -> None:
        nonlocal carry
        for _ in range(count):
            carry, _ = training.chunk(carry, task.params, eval_params)
        jax.block_until_ready(carry[0])

    periods(long_run, warmup)
    long_s, cores = timed(lambda: periods(long_run, timed_long))
    periods(short_run, 1)
    short_s, _ = timed(lambda: periods(short_run, SHORT_CALLS))
    step_s = (long_s / timed_long - short_s / SHORT_CALLS) / (long - short)
    return step_s, short_s / SHORT_CALLS - short * step_s, cores, carry[0]


def lifelong_rate(scenario: dict, width: int, steps: int, seeds: int,
                  buffer_size: int) -> tuple[float, float, float, float]:
    """(env steps/s over all seeds, seconds per eval point, cores busy, seconds the row took
    with compilation) of SAC on the first task of `scenario`; each eval point is one
    evaluation episode of one step plus the plasticity diagnostics."""
    from lifelong import config
    from lifelong.runner.agent import build_agent
    from lifelong.runner.loop import make_evaluator, seed_keys
    from lifelong.scenarios import make_scenario

    long = steps // PERIODS
    study = config.resolve({
        "scenario": scenario, "agents": {"finetune": {}}, "seeds": seeds,
        "steps_per_task": steps, "eval_every": long,
        "learner": {"name": "sac", "hidden": [width, width], "activation": "relu",
                    "batch_size": BATCH, "lr": LR, "gamma": GAMMA, "tau": TAU,
                    "buffer_size": buffer_size, "learning_starts": LEARNING_STARTS,
                    "random_steps": LEARNING_STARTS, "num_envs": 1, "train_every": 1,
                    "gradient_steps": 1},
    })
    started = time.perf_counter()
    built = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(built, episodes=1, greedy=True, max_steps=1)
    learner = build_agent(study.agents[0], built, steps)
    step_s, eval_point, cores, _ = period_costs(
        learner, built.stream_tasks[0], evaluator, eval_params, seed_keys(0, seeds), long,
        long // SHORT, WARMUP, PERIODS)
    return seeds / step_s, eval_point, cores, time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# Stable-Baselines3
# --------------------------------------------------------------------------------------------


def sb3_rate(env_id: str, width: int, steps: int, buffer_size: int) -> tuple[float, float]:
    """(env steps/s, cores busy) of SB3 SAC over `steps` after `steps / PERIODS`."""
    import gymnasium as gym
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", gym.make(env_id), learning_rate=LR, buffer_size=buffer_size,
                learning_starts=LEARNING_STARTS, batch_size=BATCH, tau=TAU, gamma=GAMMA,
                train_freq=1, gradient_steps=1, ent_coef="auto",
                policy_kwargs={"net_arch": [width, width]}, device="cpu", seed=0, verbose=0)
    model.learn(total_timesteps=steps // PERIODS)
    before = model.num_timesteps
    wall, cores = timed(lambda: model.learn(total_timesteps=steps, reset_num_timesteps=False))
    return (model.num_timesteps - before) / wall, cores


def sb3_available() -> bool:
    try:
        import stable_baselines3  # noqa: F401
        import torch
    except ImportError as error:
        print(f"[skip] Stable-Baselines3 rows: {error}. Install the bench extra: "
              ".venv/bin/pip install -e '.[bench]' (torch==2.13.0 first, for the CPU wheel).")
        return False
    torch.set_num_threads(1)
    return True


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with_sb3 = not args.skip_sb3 and sb3_available()
    with_mujoco = importlib.util.find_spec("mujoco") is not None
    if not with_mujoco:
        print("[skip] HalfCheetah rows: MuJoCo is missing; install the mujoco extra: "
              ".venv/bin/pip install -e '.[mujoco]'")
    import jax

    busy = busy_cores()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPU cores; "
          f"{args.steps} timed steps per seed and row; SB3 (1 torch thread) and lifelong "
          f"share this process; other load before start: "
          f"{busy if busy is None else round(busy, 2)} cores busy")
    if busy is not None and busy > 0.3:
        print("  warning: the machine is busy; other processes will lower these numbers")

    rows: list[Row] = []

    def lifelong(env: str, setup: str, scenario: dict, width: int, seeds: int = 1) -> None:
        rate, eval_point, cores, took = lifelong_rate(scenario, width, args.steps, seeds,
                                                      args.buffer_size)
        rows.append(Row(env, setup, width, seeds, rate, cores, eval_point))
        print(f"  {env}, {setup}, {width}x{width}, {seeds} seed(s): {rate:,.0f} steps/s, "
              f"{eval_point:.2f} s per eval point ({cores:.2f} cores busy; the row took "
              f"{took:.0f} s with compilation)", flush=True)

    def sb3(env: str, width: int) -> None:
        rate, cores = sb3_rate(env, width, args.steps, args.buffer_size)
        rows.append(Row(env, "SB3 SAC, Gymnasium", width, 1, rate, cores, sb3=True))
        print(f"  {env}, SB3 SAC, {width}x{width}: {rate:,.0f} steps/s "
              f"({cores:.2f} cores busy)", flush=True)

    gymnax_pendulum = {"name": "gymnax-params", "env_id": "Pendulum-v1", "tasks": [{}]}
    gym_pendulum = {"name": "gymnasium", "envs": [{"id": "Pendulum-v1"}]}
    cheetah = {"name": "mujoco-shift", "env": "HalfCheetah-v5", "shifts": [{}]}
    started = time.perf_counter()
    for width in args.widths:
        lifelong("Pendulum-v1", "lifelong SAC, gymnax, jitted", gymnax_pendulum, width)
        lifelong("Pendulum-v1", "lifelong SAC, gymnax, jitted, seeds vmapped", gymnax_pendulum,
                 width, args.seeds)
        lifelong("Pendulum-v1", "lifelong SAC, Gymnasium, host-stepped", gym_pendulum, width)
        if with_sb3:
            sb3("Pendulum-v1", width)
        if with_mujoco:
            lifelong("HalfCheetah-v5", "lifelong SAC, Gymnasium, host-stepped", cheetah, width)
            if with_sb3:
                sb3("HalfCheetah-v5", width)
    print(f"  all rows took {time.perf_counter() - started:.0f} s")

    peers = {(r.env, r.width): r.steps_per_s for r in rows if r.sb3}
    width = max(len(r.setup) for r in rows)
    print(f"\n{'env':<14} | {'setup':<{width}} | {'net':>7} | seeds | {'steps/s':>8} | "
          "lifelong/SB3 | cores | eval point (s)")
    print(f"{'-' * 14}-|-{'-' * width}-|---------|-------|----------|--------------|-------|"
          "---------------")
    for r in rows:
        peer = peers.get((r.env, r.width))
        ratio = "-" if r.sb3 or peer is None else f"{r.steps_per_s / peer:.1f}x"
        point = "-" if r.eval_point_s is None else f"{r.eval_point_s:.2f}"
        print(f"{r.env:<14} | {r.setup:<{width}} | {f'{r.width}x{r.width}':>7} | {r.seeds:>5} | "
              f"{r.steps_per_s:>8,.0f} | {ratio:>12} | {r.cores:>5.2f} | {point:>14}")
    print("\nSteps/s of the vmapped rows add up all seeds; their ratio compares that aggregate "
          "with one SB3 process. Eval point: lifelong's fixed cost per eval period (here a "
          "one-step evaluation and the plasticity diagnostics), not in steps/s.")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
