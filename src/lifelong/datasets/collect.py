"""Offline datasets generated locally, per task of an online gymnax scenario, at D4RL's quality
levels (`QUALITIES`).

Each task gets one behaviour run: lifelong's own off-policy learner (SAC for continuous
actions, DQN for discrete ones) trained on the task alone for `behaviour_steps` env steps,
evaluated `evals` times on the way; the policy of every evaluation point is kept. Then

- `expert` is the final policy;
- `medium` the kept policy whose eval return is closest to `medium_level` of the way from
  the random policy's return to the expert's;
- `medium-replay` the run's replay buffer up to the medium point: every transition the
  learner saw on its way there (its size is set by the run, not by `transitions`);
- `random` takes uniformly random actions.

A policy's dataset is a recording of `transitions` env steps in whole episodes (the last one
truncated), with stochastic actions stored exactly as the agent emitted them (normalized
for continuous actions). The reference scores are the mean eval returns of the random policy
and of the expert, over `eval_episodes` episodes each. A dataset's `task` is
{"scenario": the scenario's options, "index": the task's index in it, "quality": ...,
"action_dim": ...}: `make_scenario` on those options rebuilds the task to evaluate on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from lifelong.config import Agent, named_options
from lifelong.datasets.dataset import QUALITIES, Dataset
from lifelong.envs import TaskEnv, TaskParams
from lifelong.errors import ConfigError, RunError
from lifelong.evaluation.reference import single_task_scenario
from lifelong.evaluation.rollout import Evaluator, random_actor
from lifelong.learners import LEARNERS, replay
from lifelong.learners.offpolicy import OffPolicyConfig
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState
from lifelong.runner.agent import build_agent
from lifelong.runner.loop import TaskLoop, make_evaluator, random_returns
from lifelong.runner.progress import StudyProgress
from lifelong.scenarios import Scenario, ScenarioOptions, Task, make_scenario

BEHAVIOUR_LEARNERS = {False: "sac", True: "dqn"}  # by whether the actions are discrete

# (policy params, obs [1, obs_dim], task id, key) -> actions [1, ...] in the agent's form
Policy = Callable[[Any, jax.Array, jax.Array, jax.Array], jax.Array]


def check_qualities(qualities: list[str]) -> list[str]:
    """`qualities`, each known and listed once; raises `ConfigError` naming the field."""
    for i, quality in enumerate(qualities):
        if quality not in QUALITIES:
            raise ConfigError(f"qualities.{i}", f"unknown quality {quality!r}; choose from "
                              f"{', '.join(QUALITIES)}")
        if quality in qualities[:i]:
            raise ConfigError(f"qualities.{i}", f"{quality!r} is listed twice; keep one")
    if not qualities:
        raise ConfigError("qualities", f"name at least one of {', '.join(QUALITIES)}")
    return list(qualities)


def behaviour_options(discrete: bool, options: dict[str, Any] | None, behaviour_steps: int,
                      evals: int, replay_needed: bool) -> OffPolicyConfig:
    """The behaviour learner's validated options: the learner's defaults, except that the
    replay buffer holds the whole run and at most a tenth of it acts at random, unless
    `options` say otherwise."""
    options = dict(options or {})
    name = options.setdefault("name", BEHAVIOUR_LEARNERS[discrete])
    if name not in BEHAVIOUR_LEARNERS.values():
        raise ConfigError("learner.name", f"the behaviour policy is trained by an off-policy "
                          f"learner; use {BEHAVIOUR_LEARNERS[discrete]} (got {name!r})")
    default_random = LEARNERS[name].options.model_fields["random_steps"].default
    options.setdefault("buffer_size", behaviour_steps)
    options.setdefault("random_steps", min(default_random, behaviour_steps // 10))
    learner = named_options(LEARNERS, options, "learner", "learner")
    unit = evals * learner.steps_per_update
    if behaviour_steps % unit:
        raise ConfigError("behaviour_steps", f"must be a multiple of evals x the learner's "
                          f"num_envs x train_every = {unit}; e.g. behaviour_steps: "
                          f"{max(1, round(behaviour_steps / unit)) * unit}")
    if replay_needed and (learner.buffer == "reservoir" or learner.buffer_size < behaviour_steps):
        raise ConfigError("learner.buffer", "medium-replay reads the behaviour run's buffer in "
                          f"order: it needs a fifo buffer of at least behaviour_steps="
                          f"{behaviour_steps} rows")
    return learner


@dataclass(frozen=True)
class _Machinery:
    """What one env's tasks share: the behaviour learner's compiled training and recording."""

    loop: TaskLoop
    init: Callable[[jax.Array], AgentState]  # [1] keys -> agent with a seed axis of 1
    record_policy: Callable[[Any, TaskParams, jax.Array], tuple[jax.Array, ...]]
    record_random: Callable[[Any, TaskParams, jax.Array], tuple[jax.Array, ...]]


def _recorder(env: TaskEnv, policy: Policy, steps: int):
    """Jitted (policy params, task params, key) -> the rows of `steps` env steps of one env:
    (obs, action, reward, next obs, terminated, truncated), episodes auto-reset."""

    def record(policy_params: Any, params: TaskParams, key: jax.Array):
        key_reset, key_run = jax.random.split(key)
        obs, state = env.reset(key_reset, params)

        def step(carry, key):
            obs, state = carry
            key_act, key_step = jax.random.split(key)
            action = policy(policy_params, obs[None], params.task_id, key_act)[0]
            next_obs, state, reward, terminated, truncated, final_obs = env.transition(
                key_step, state, action, params)
            return (next_obs, state), (obs, action, reward, final_obs, terminated, truncated)

        return jax.lax.scan(step, (obs, state), jax.random.split(key_run, steps))[1]

    return jax.jit(record)


def _machinery(single: Scenario, evaluator: Evaluator, options: OffPolicyConfig,
               behaviour_steps: int, evals: int, transitions: int,
               on_eval: Callable[[np.ndarray, np.ndarray], None] | None) -> _Machinery:
    env = single.tasks[0].env
    learner = build_agent(Agent(name="behaviour", learner=options, components=[]), single,
                          behaviour_steps)
    loop = TaskLoop(learner, evaluator, behaviour_steps, behaviour_steps // evals,
                    on_eval=on_eval)
    act = random_actor(env)
    return _Machinery(
        loop, jax.jit(jax.vmap(learner.init)),
        _recorder(env, lambda params, obs, task_id, key: learner.act(params, obs, task_id, key),
                  transitions),
        _recorder(env, lambda _, obs, task_id, key: act(obs, task_id, key, False), transitions))


def _recording(rows: tuple[jax.Array, ...], ref_min: float, ref_max: float,
               task: dict[str, Any]) -> Dataset:
    obs, action, reward, next_obs, terminated, truncated = (np.array(x) for x in rows)
    truncated[-1] |= not terminated[-1]  # the last episode ends where the recording does
    return Dataset(obs, action, reward, next_obs, terminated, truncated, ref_min, ref_max, task)


def replay_dataset(rows: Transitions, num_envs: int, ref_min: float, ref_max: float,
                   task: dict[str, Any]) -> Dataset:
    """A dataset of fifo replay rows in write order (`num_envs` interleaved env streams):
    each env's stream in turn, cut into episodes at terminal rows and where a row's next obs
    is not the following row's obs (a truncation); each stream's last episode truncated."""
    def streams(x) -> np.ndarray:  # [steps * num_envs, ...] -> env by env
        x = np.asarray(x)
        return x.reshape(-1, num_envs, *x.shape[1:]).swapaxes(0, 1).reshape(x.shape)

    obs, action, reward, next_obs, terminated = (
        streams(x) for x in (rows.obs, rows.action, rows.reward, rows.next_obs, rows.terminated))
    terminated = terminated > 0.5
    cut = np.ones(len(reward), bool)
    cut[:-1] = np.any(next_obs[:-1] != obs[1:], axis=1)
    cut[len(reward) // num_envs - 1::len(reward) // num_envs] = True  # each stream's end
    return Dataset(obs, action, reward, next_obs, terminated, cut & ~terminated, ref_min,
                   ref_max, task)


def _buffer_rows(agent: AgentState, count: int) -> Transitions:
    """The first `count` rows of a one-seed agent's replay buffer (write order, if fifo)."""
    buffer = jax.tree.map(lambda x: x[0], agent.aux.buffer)
    return replay._unpack(buffer, buffer.data[:count])


def _behaviour_run(m: _Machinery, task: Task, eval_params, key: jax.Array,
                   evals: int) -> tuple[list[Any], np.ndarray, AgentState]:
    """Trains the behaviour policy on `task`: (its params at each eval point, the mean eval
    returns there [evals], the final agent, buffer included)."""
    key_init, key_train = jax.random.split(key)
    training = m.loop.training(task.env)
    carry = training.start(m.init(key_init[None]), task.params, key_train[None])
    # A gymnax reset may leave weak-typed leaves (Pendulum's state does) that the first eval
    # period returns strongly typed, which would compile `chunk` a second time.
    carry = jax.tree.map(lambda x: x.astype(x.dtype), carry)
    params, returns = [], []
    for k in range(evals):
        carry, (point, diagnostics) = training.chunk(carry, task.params, eval_params)
        if np.asarray(diagnostics["nonfinite"]).any():
            raise RunError(f"the behaviour run on {task.name!r} diverged by eval point {k + 1}; "
                           "lower learner.lr or set learner.max_grad_norm")
        params.append(jax.tree.map(lambda x: x[0], carry[0].learner.params))
        returns.append(float(point[0, 0]))
    return params, np.array(returns), carry[0]


def collect(scenario_options: ScenarioOptions, qualities: list[str], transitions: int,
            behaviour_steps: int, seed: int = 0, progress: bool = True,
            learner_options: dict[str, Any] | None = None, *, evals: int = 10,
            eval_episodes: int = 20, medium_level: float = 0.5) -> list[dict[str, Dataset]]:
    """One {quality: Dataset} per task of the scenario (in its task order); see the module
    docstring. Raises `ConfigError` for input it cannot collect from."""
    qualities = check_qualities(qualities)
    for field, value in [("transitions", transitions), ("behaviour_steps", behaviour_steps),
                         ("evals", evals), ("eval_episodes", eval_episodes)]:
        if value < 1:
            raise ConfigError(field, f"must be at least 1 (got {value})")
    if not 0 <= medium_level <= 1:
        raise ConfigError("medium_level", f"must be in [0, 1] (got {medium_level})")
    scenario = make_scenario(scenario_options)
    if scenario.host_stepped:
        raise ConfigError("scenario.name", f"{scenario.name!r} steps Gymnasium envs on the "
                          "host; collecting from them is not supported yet; use a gymnax "
                          "scenario (e.g. gymnax-params)")
    options = behaviour_options(scenario.tasks[0].env.discrete, learner_options,
                                behaviour_steps, evals, "medium-replay" in qualities)
    machinery: dict[TaskEnv, _Machinery] = {}
    out = []
    with StudyProgress(enabled=progress) as bar:
        bar.start_agent("behaviour", behaviour_steps * scenario.num_tasks,
                        behaviour_steps // evals, scenario.num_tasks)
        for index, task in enumerate(scenario.tasks):
            bar.on_task(index)
            single = single_task_scenario(scenario, index)
            evaluator, eval_params = make_evaluator(single, eval_episodes, False, None)
            if task.env not in machinery:
                machinery[task.env] = _machinery(single, evaluator, options, behaviour_steps,
                                                 evals, transitions,
                                                 bar.on_eval if progress else None)
            m = machinery[task.env]
            key_run, key_random, key_record = jax.random.split(
                jax.random.fold_in(jax.random.PRNGKey(seed), index), 3)
            params, returns, agent = _behaviour_run(m, task, eval_params, key_run, evals)
            ref_min = float(random_returns(single, evaluator, eval_params, key_random[None])[0])
            ref_max = float(returns[-1])
            medium = int(np.argmin(np.abs(returns - ref_min
                                          - medium_level * (ref_max - ref_min))))
            meta = {"scenario": scenario_options.model_dump(), "index": index,
                    "action_dim": task.env.action_dim}
            datasets, ref = {}, (ref_min, ref_max)
            for quality in qualities:
                info = {**meta, "quality": quality}
                key = jax.random.fold_in(key_record, QUALITIES.index(quality))
                if quality == "medium-replay":
                    rows = _buffer_rows(agent, (medium + 1) * behaviour_steps // evals)
                    datasets[quality] = replay_dataset(rows, options.num_envs, *ref, info)
                elif quality == "random":
                    rows = m.record_random(None, task.params, key)
                    datasets[quality] = _recording(rows, *ref, info)
                else:
                    policy = params[-1] if quality == "expert" else params[medium]
                    rows = m.record_policy(policy, task.params, key)
                    datasets[quality] = _recording(rows, *ref, info)
            if progress:
                bar.console.print(f"task {index + 1}/{scenario.num_tasks} {task.name}: random "
                                  f"{ref_min:.1f}, expert {ref_max:.1f}, medium "
                                  f"{returns[medium]:.1f} (eval point {medium + 1}/{evals})")
            if ref_max <= ref_min:  # said even when quiet: the datasets are not what they say
                bar.console.print(f"warning: on {task.name}, the expert's return {ref_max:.1f} "
                                  f"is not above the random policy's {ref_min:.1f}; raise "
                                  "behaviour_steps or tune the learner")
            out.append(datasets)
    return out
