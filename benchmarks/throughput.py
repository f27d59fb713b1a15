"""Training throughput (env steps per second, updates included) of lifelong PPO and its peers.

Rows:
  * lifelong PPO on CartPole-v1 through the library's task-training function, 1 seed and
    N seeds vmapped (and, with 2+ host devices, N seeds sharded over the devices);
  * a bare, self-contained jitted PPO (PureJaxRL style) with the same hyperparameters:
    the same algorithm without any continual-learning machinery;
  * Stable-Baselines3 PPO with matched hyperparameters and with its default config.

JAX rows are timed after a compile/warm-up call (median of --repeats calls); SB3 rows time
`model.learn` after a one-rollout warm-up. Run:

    .venv/bin/python benchmarks/throughput.py            # ~3-4 minutes on 2 CPU cores
    .venv/bin/python benchmarks/throughput.py --skip-sb3 # JAX rows only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

# Hyperparameters shared by every PPO below (PureJaxRL's CartPole settings).
NUM_ENVS = 4
NUM_STEPS = 128
UPDATE_EPOCHS = 4
NUM_MINIBATCHES = 4
LR = 2.5e-4
GAMMA = 0.99
GAE_LAMBDA = 0.95
CLIP_EPS = 0.2
ENT_COEF = 0.01
VF_COEF = 0.5
MAX_GRAD_NORM = 0.5
HIDDEN = 64
STEPS_PER_UPDATE = NUM_ENVS * NUM_STEPS


@dataclass
class Row:
    setup: str
    steps_per_s: float
    note: str = ""
    cores: float | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=409_600,
                        help="env steps of the 1-seed JAX rows (multiple of 512)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds of the multi-seed rows")
    parser.add_argument("--seed-steps", type=int, default=102_400,
                        help="env steps per seed of the multi-seed rows (multiple of 512)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per JAX row after warm-up (median reported)")
    parser.add_argument("--sb3-matched-steps", type=int, default=50_000)
    parser.add_argument("--sb3-default-steps", type=int, default=30_000)
    parser.add_argument("--skip-sb3", action="store_true", help="only the JAX rows")
    parser.add_argument("--host-devices", type=int, default=2,
                        help="XLA host (CPU) devices; >1 adds the sharded multi-seed row")
    args = parser.parse_args(argv)
    for flag, value in [("--steps", args.steps), ("--seed-steps", args.seed_steps)]:
        if value % STEPS_PER_UPDATE:
            parser.error(f"{flag} must be a multiple of {STEPS_PER_UPDATE}")
    return args


def busy_cores(seconds: float = 1.0) -> float | None:
    """CPU cores busy (all processes) over `seconds`, from /proc/stat; None off Linux."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return None
    return (1 - (idle1 - idle0) / max(total1 - total0, 1)) * (os.cpu_count() or 1)


def time_jax(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(first call incl. compile, median of `repeats` later calls, CPU cores busy), seconds.

    Cores busy = process CPU time / wall time over the timed calls: 1.0 means one thread
    did all the work; above 1 means XLA spread the work over several threads.
    """
    import jax

    start = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - start
    times, cpu = [], time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), (time.process_time() - cpu) / sum(times)


# --------------------------------------------------------------------------------------------
# lifelong: the only place that touches the library's API.
# --------------------------------------------------------------------------------------------


def lifelong_train(steps: int, seeds: int, shard: bool = False) -> Callable[[], object]:
    """A zero-argument call that trains `seeds` PPO agents for `steps` each on one CartPole task.

    Eval is effectively off: one eval point at the end, 1 episode of at most 1 step.
    `shard` places the seed axis across all host devices (jit follows input shardings).
    """
    import jax

    from lifelong import config
    from lifelong.runner.agent import build_agent
    from lifelong.runner.loop import TaskLoop, make_evaluator, seed_sharding
    from lifelong.scenarios import make_scenario

    study = config.load(None, [
        f"steps_per_task={steps}", f"eval_every={steps}", f"seeds={seeds}",
        "scenario={name: gymnax-params, env_id: CartPole-v1, tasks: [{}]}",
    ])
    scenario = make_scenario(study.scenario)
    evaluator, eval_params = make_evaluator(scenario, episodes=1, greedy=True, max_steps=1)
    learner = build_agent(study.agents[0], scenario, steps)  # 'finetune': plain PPO
    loop = TaskLoop(learner, evaluator, steps, steps)
    task = scenario.tasks[0]
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    if shard:  # what `TaskLoop.run` does when several devices divide the seeds
        keys = jax.device_put(keys, seed_sharding(seeds))
    agent = loop._init(keys)
    train = loop.train_function(task.env)
    return lambda: train(agent, task.params, eval_params, keys)


# --------------------------------------------------------------------------------------------
# Bare PPO: one jit over a scan of updates, no continual-learning machinery.
# --------------------------------------------------------------------------------------------


def bare_network(action_dim: int):
    import flax.linen as nn
    import numpy as np

    class ActorCritic(nn.Module):
        @nn.compact
        def __call__(self, obs):
            def mlp(x, out, scale):
                for _ in range(2):
                    x = nn.tanh(nn.Dense(HIDDEN, kernel_init=nn.initializers.orthogonal(
                        np.sqrt(2)))(x))
                return nn.Dense(out, kernel_init=nn.initializers.orthogonal(scale))(x)

            return mlp(obs, action_dim, 0.01), mlp(obs, 1, 1.0)[..., 0]

    return ActorCritic()


def bare_train(steps: int) -> Callable:
    """`train(key) -> (params, mean episode length per update)` for `steps` env steps."""
    import gymnax
    import jax
    import jax.numpy as jnp
    import optax

    env, env_params = gymnax.make("CartPole-v1")
    network = bare_network(env.action_space(env_params).n)
    tx = optax.chain(optax.clip_by_global_norm(MAX_GRAD_NORM), optax.adam(LR, eps=1e-5))
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    num_updates = steps // STEPS_PER_UPDATE
    minibatch_size = STEPS_PER_UPDATE // NUM_MINIBATCHES

    def loss_fn(params, obs, action, old_logp, old_value, adv, target):
        logits, value = network.apply(params, obs)
        log_probs = jax.nn.log_softmax(logits)
        logp = jnp.take_along_axis(log_probs, action[:, None], -1)[:, 0]
        v_clip = old_value + jnp.clip(value - old_value, -CLIP_EPS, CLIP_EPS)
        v_loss = 0.5 * jnp.maximum((value - target) ** 2, (v_clip - target) ** 2).mean()
        ratio = jnp.exp(logp - old_logp)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss = -jnp.minimum(ratio * adv,
                               jnp.clip(ratio, 1 - CLIP_EPS, 1 + CLIP_EPS) * adv).mean()
        entropy = -(jnp.exp(log_probs) * log_probs).sum(-1).mean()
        return pg_loss + VF_COEF * v_loss - ENT_COEF * entropy

    def env_step(carry, _):
        params, opt_state, env_state, obs, key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        logits, value = network.apply(params, obs)
        action = jax.random.categorical(k_act, logits)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
        next_obs, env_state, reward, term, trunc, _ = step(
            jax.random.split(k_env, NUM_ENVS), env_state, action, env_params)
        done = jnp.logical_or(term, trunc).astype(jnp.float32)
        return (params, opt_state, env_state, next_obs, key), (
            obs, action, logp, value, reward, done)

    def gae(values, rewards, dones, last_value):
        def back(carry, x):
            adv, next_value = carry
            value, reward, done = x
            delta = reward + GAMMA * next_value * (1 - done) - value
            adv = delta + GAMMA * GAE_LAMBDA * (1 - done) * adv
            return (adv, value), adv

        _, advs = jax.lax.scan(back, (jnp.zeros_like(last_value), last_value),
                               (values, rewards, dones), reverse=True)
        return advs, advs + values

    def update(carry, _):
        carry, traj = jax.lax.scan(env_step, carry, None, NUM_STEPS)
        params, opt_state, env_state, obs, key = carry
        obs_t, action, logp, value, reward, done = traj
        adv, target = gae(value, reward, done, network.apply(params, obs)[1])
        data = jax.tree.map(lambda x: x.reshape(STEPS_PER_UPDATE, *x.shape[2:]),
                            (obs_t, action, logp, value, adv, target))

        def epoch(state, _):
            params, opt_state, key = state
            key, k_perm = jax.random.split(key)
            perm = jax.random.permutation(k_perm, STEPS_PER_UPDATE)
            batches = jax.tree.map(
                lambda x: x[perm].reshape(NUM_MINIBATCHES, minibatch_size, *x.shape[1:]), data)

            def minibatch(state, mb):
                params, opt_state = state
                grads = jax.grad(loss_fn)(params, *mb)
                updates, opt_state = tx.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), None

            (params, opt_state), _ = jax.lax.scan(minibatch, (params, opt_state), batches)
            return (params, opt_state, key), None

        (params, opt_state, key), _ = jax.lax.scan(epoch, (params, opt_state, key), None,
                                                   UPDATE_EPOCHS)
        episode_length = STEPS_PER_UPDATE / jnp.maximum(done.sum(), 1.0)
        return (params, opt_state, env_state, obs, key), episode_length

    def train(key):
        k_init, k_reset, key = jax.random.split(key, 3)
        params = network.init(k_init, jnp.zeros((1, *env.observation_space(env_params).shape)))
        obs, env_state = reset(jax.random.split(k_reset, NUM_ENVS), env_params)
        carry = (params, tx.init(params), env_state, obs, key)
        carry, lengths = jax.lax.scan(update, carry, None, num_updates)
        return carry[0], lengths

    return train


def bare_run(steps: int, seeds: int | None) -> tuple[Callable[[], object], Callable]:
    """(zero-argument call, jitted fn); `seeds=None` means one unbatched seed."""
    import jax

    train = bare_train(steps)
    if seeds is None:
        fn, arg = jax.jit(train), jax.random.PRNGKey(0)
    else:
        fn, arg = jax.jit(jax.vmap(train)), jax.random.split(jax.random.PRNGKey(0), seeds)
    return (lambda: fn(arg)), fn


# --------------------------------------------------------------------------------------------
# Stable-Baselines3
# --------------------------------------------------------------------------------------------


def sb3_rows(matched_steps: int, default_steps: int) -> list[Row]:
    try:
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError as error:
        print(f"\n[skip] Stable-Baselines3 rows: {error}.\n"
              "       Install the bench extra: .venv/bin/pip install -e '.[bench]' "
              "(torch==2.13.0 first, for the CPU wheel).")
        return []
    torch.set_num_threads(1)  # as fast or faster than 2 on this machine
    matched = dict(n_steps=NUM_STEPS, batch_size=STEPS_PER_UPDATE // NUM_MINIBATCHES,
                   n_epochs=UPDATE_EPOCHS, learning_rate=LR, gamma=GAMMA, gae_lambda=GAE_LAMBDA,
                   clip_range=CLIP_EPS, ent_coef=ENT_COEF, vf_coef=VF_COEF,
                   max_grad_norm=MAX_GRAD_NORM,
                   policy_kwargs=dict(net_arch=dict(pi=[HIDDEN, HIDDEN], vf=[HIDDEN, HIDDEN]),
                                      activation_fn=torch.nn.Tanh))
    rows = []
    for name, kwargs, steps in [("SB3 PPO default config (n_steps 2048, batch 64, 10 epochs)",
                                 {}, default_steps),
                                ("SB3 PPO matched hyperparameters", matched, matched_steps)]:
        env = make_vec_env("CartPole-v1", n_envs=NUM_ENVS, seed=0)  # DummyVecEnv
        model = PPO("MlpPolicy", env, device="cpu", seed=0, verbose=0, **kwargs)
        model.learn(total_timesteps=model.n_steps * NUM_ENVS)  # warm-up: one rollout + update
        before = model.num_timesteps
        start = time.perf_counter()
        model.learn(total_timesteps=steps, reset_num_timesteps=False)
        elapsed = time.perf_counter() - start
        done = model.num_timesteps - before
        rows.append(Row(name, done / elapsed, f"{done} steps, 4 envs, 1 torch thread"))
        print(f"  {name}: {done / elapsed:,.0f} steps/s ({done} steps in {elapsed:.1f} s)")
    return rows


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    flag = f"--xla_force_host_platform_device_count={args.host_devices}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
    import jax

    busy = busy_cores()
    print(f"jax {jax.__version__}, devices: {len(jax.devices())} x {jax.devices()[0].platform}, "
          f"{os.cpu_count()} CPU cores; 1-seed rows {args.steps} steps, {args.seeds}-seed rows "
          f"{args.seed_steps} steps per seed; "
          f"other load before start: {busy if busy is None else round(busy, 2)} cores busy")
    if busy is not None and busy > 0.3:
        print("  warning: the machine is busy; other processes will lower these numbers")

    rows: list[Row] = []

    def jax_row(setup: str, call: Callable[[], object], seeds: int, note: str = "") -> Row:
        first, median, cores = time_jax(call, args.repeats)
        rate = seeds * (args.steps if seeds == 1 else args.seed_steps) / median
        print(f"  {setup}: {rate:,.0f} steps/s (first call {first:.1f} s incl. compile, "
              f"median {median:.2f} s, {cores:.2f} cores busy)")
        row = Row(setup, rate, note, cores)
        rows.append(row)
        return row

    t0 = time.perf_counter()
    bare_call, bare_fn = bare_run(args.steps, None)
    bare_1 = jax_row("bare jitted PPO, 1 seed", bare_call, 1, "no CL machinery")
    lengths = bare_fn(jax.random.PRNGKey(0))[1]
    print(f"    (bare PPO sanity: mean episode length in last update {float(lengths[-1]):.0f})")
    life_1 = jax_row("lifelong PPO, 1 seed", lifelong_train(args.steps, 1), 1, "per process")
    bare_n = jax_row(f"bare jitted PPO, {args.seeds} seeds vmapped",
                     bare_run(args.seed_steps, args.seeds)[0], args.seeds,
                     "aggregate over seeds, one device")
    life_n = jax_row(f"lifelong PPO, {args.seeds} seeds vmapped",
                     lifelong_train(args.seed_steps, args.seeds), args.seeds,
                     "aggregate over seeds, one device")
    sharded = None
    if len(jax.devices()) > 1 and args.seeds % len(jax.devices()) == 0:
        sharded = jax_row(
            f"lifelong PPO, {args.seeds} seeds sharded over {len(jax.devices())} devices",
            lifelong_train(args.seed_steps, args.seeds, shard=True), args.seeds,
            "aggregate over seeds and all cores")
    print(f"  JAX rows took {time.perf_counter() - t0:.0f} s")

    sb3 = [] if args.skip_sb3 else sb3_rows(args.sb3_matched_steps, args.sb3_default_steps)
    sb3_default = sb3[0].steps_per_s if sb3 else None
    sb3_matched = sb3[1].steps_per_s if sb3 else None
    rows.extend(sb3)

    def ratio(rate: float, ref: float | None) -> str:
        return f"{rate / ref:.1f}x" if ref else "-"

    width = max(len(r.setup) for r in rows)
    print(f"\n{'setup':<{width}} | {'steps/s':>9} | vs SB3 default | vs SB3 matched | cores "
          "| note")
    print(f"{'-' * width}-|-----------|----------------|----------------|-------|-----")
    for r in rows:
        rate, cores = r.steps_per_s, "-" if r.cores is None else f"{r.cores:.2f}"
        print(f"{r.setup:<{width}} | {rate:>9,.0f} | {ratio(rate, sb3_default):>14} | "
              f"{ratio(rate, sb3_matched):>14} | {cores:>5} | {r.note}")

    print(f"\nlifelong / bare, 1 seed:  {life_1.steps_per_s / bare_1.steps_per_s:.2f} "
          "(goal: >= 0.90)")
    print(f"lifelong / bare, {args.seeds} seeds: {life_n.steps_per_s / bare_n.steps_per_s:.2f}")
    if sharded is not None:
        print(f"sharding the seeds over {len(jax.devices())} devices vs vmap on one: "
              f"{sharded.steps_per_s / life_n.steps_per_s:.2f}x")
    if sb3:
        print(f"lifelong 1 seed vs SB3 matched (per process, same hyperparameters): "
              f"{life_1.steps_per_s / sb3_matched:.1f}x")
        print(f"lifelong {args.seeds} seeds vmapped vs SB3 default single-process "
              f"(aggregate over seeds, one device): {life_n.steps_per_s / sb3_default:.0f}x")
        if sharded is not None:
            print(f"lifelong {args.seeds} seeds sharded vs SB3 default single-process "
                  f"(aggregate over seeds and both cores): "
                  f"{sharded.steps_per_s / sb3_default:.0f}x")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}; this run alone "
          "accounts for about 1-1.5")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
