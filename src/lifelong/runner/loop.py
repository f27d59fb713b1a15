"""The task loop: train an agent through a scenario over vmapped seeds, evaluating as it goes.

For each stream position: `on_task_start` hooks, the task's training one eval period per
jitted call (rollouts, updates, then an evaluation of every eval task), then `on_task_end`
hooks. Between eval periods the run can be checkpointed, so a kill loses at most a few
minutes. One compiled set of training functions per environment: tasks that differ only in
parameters reuse it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lifelong.envs import TaskEnv
from lifelong.evaluation.host_rollout import HostEvaluator
from lifelong.evaluation.rollout import Evaluator, random_actor, stack_params
from lifelong.learners.offline import OfflineInputs
from lifelong.learners.seams import AgentState, TaskTraining
from lifelong.runner.checkpoint import Snapshot
from lifelong.scenarios import Scenario, Task


def make_evaluator(scenario: Scenario, episodes: int, greedy: bool,
                   max_steps: int | None) -> tuple[Evaluator, tuple]:
    """The evaluator of a scenario's eval set and its stacked per-group task parameters
    (for host-stepped scenarios, a `HostEvaluator`, which needs no parameters)."""
    if scenario.host_stepped:
        tasks = tuple((scenario.tasks[i].env, scenario.tasks[i].params)
                      for i in scenario.eval_tasks)
        return HostEvaluator(tasks, episodes, greedy, max_steps), ()
    groups = tuple((env, tuple(positions)) for env, positions in scenario.eval_groups())
    evaluator = Evaluator(groups, len(scenario.eval_tasks), episodes, greedy, max_steps)
    eval_params = tuple(
        stack_params([scenario.tasks[scenario.eval_tasks[j]].params for j in positions])
        for _, positions in groups
    )
    return evaluator, eval_params


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """[num_seeds] PRNG keys; seed i's key does not depend on how many seeds run."""
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(num_seeds))


def _seed_devices(num_seeds: int) -> int:
    """How many local devices a batch of `num_seeds` seeds is spread over."""
    return min(len(jax.devices()), num_seeds)


def padded_seed_count(num_seeds: int) -> int:
    """Seeds actually trained: rounded up to a multiple of the devices they are spread over."""
    devices = _seed_devices(num_seeds)
    return -(-num_seeds // devices) * devices


def seed_sharding(num_seeds: int) -> NamedSharding | None:
    """Splits a padded seed axis over the local devices (None: one device).

    On CPU, `XLA_FLAGS=--xla_force_host_platform_device_count=N` (set by the CLI) exposes
    the cores as devices; jit then runs each device's share of the seeds in parallel.
    """
    devices = _seed_devices(num_seeds)
    if devices == 1:
        return None
    mesh = Mesh(np.array(jax.devices()[:devices]), ("seeds",))
    return NamedSharding(mesh, PartitionSpec("seeds"))


class StreamRun(NamedTuple):
    """What training through a stream gives, for the real (unpadded) seeds."""

    returns: np.ndarray  # [seeds, 1 + K * evals_per_task, eval_tasks]
    diagnostics: dict[str, np.ndarray]  # name -> [seeds, K * evals_per_task] (no point 0)
    agent: AgentState  # final state, leaves with a leading [seeds] axis


class TaskLoop:
    """Trains one learner through a stream of tasks; compiled functions are cached per env.

    With `multitask`, the learner instead trains on all of the stream's tasks at once, for
    the stream's whole budget (the upper-bound reference; its tasks must share one env).
    """

    def __init__(self, learner, evaluator: Evaluator, steps_per_task: int,
                 eval_every: int, boundaries_visible: bool = True,
                 on_eval: Callable[[np.ndarray, np.ndarray], None] | None = None,
                 multitask: bool = False):
        self.learner, self.evaluator = learner, evaluator
        self.boundaries_visible, self.multitask = boundaries_visible, multitask
        self.num_evals, self.eval_every = steps_per_task // eval_every, eval_every
        self.updates_per_eval = eval_every // learner.config.steps_per_update
        self.on_eval = on_eval
        self._train: dict[TaskEnv, Callable] = {}
        self._inputs: dict[Task, OfflineInputs] = {}
        components = learner.components
        self._starts = [c for c in components if c.on_task_start is not None]
        self._ends = [c for c in components if c.on_task_end is not None]
        self._init = jax.jit(jax.vmap(learner.init))
        if getattr(evaluator, "host_stepped", False):  # reads `self.evaluator` when called
            self._evaluate = lambda agent, eval_params, key: self.evaluator(
                learner.actor, agent.learner.params, key)
        else:
            self._evaluate = jax.jit(jax.vmap(
                lambda agent, eval_params, key: evaluator(learner.actor(agent.learner.params),
                                                          eval_params, key),
                in_axes=(0, None, 0)))
        self._start = jax.jit(jax.vmap(self._task_start, in_axes=(0, None)))
        self._end = jax.jit(jax.vmap(self._task_end, in_axes=(0, 0, 0)))

    def training(self, env: TaskEnv, num_tasks: int = 1) -> TaskTraining:
        """The jitted, seed-vmapped training functions of a task on `env` (compiled once per
        env); in multitask mode, of all `num_tasks` tasks at once. A host-stepped env gets
        the learner's host training (Python stepping around jitted, seed-vmapped calls)."""
        if env not in self._train and env.host_stepped:
            self._train[env] = self.learner.host_training(
                env, self.evaluator, self.num_evals * num_tasks, self.updates_per_eval,
                self.on_eval, self.multitask)
        if env not in self._train:
            task = self.learner.make_train_task(env, self.evaluator, self.num_evals * num_tasks,
                                                self.updates_per_eval, self.on_eval,
                                                self.multitask)
            finish = task.finish and jax.jit(jax.vmap(task.finish, in_axes=(0, None, 0)))
            self._train[env] = TaskTraining(
                start=jax.jit(jax.vmap(task.start, in_axes=(0, None, 0))),
                chunk=jax.jit(jax.vmap(task.chunk, in_axes=(0, None, None))),
                train=jax.jit(jax.vmap(task.train, in_axes=(0, None, None, 0))),
                finish=finish)
        return self._train[env]

    def inputs(self, task: Task):
        """What a task's training reads: its parameters, or for an offline task its
        `OfflineInputs` (the dataset is put on the device once per task)."""
        if task.dataset is None:
            return task.params
        if task not in self._inputs:
            data = task.dataset.transitions(int(task.params.task_id))
            self._inputs[task] = OfflineInputs(task.params, jax.device_put(data),
                                               jnp.asarray(task.dataset.successors(),
                                                           jnp.int32))
        return self._inputs[task]

    def train_function(self, env: TaskEnv, num_tasks: int = 1) -> Callable:
        """The whole training of a task as one jitted call (see `training`)."""
        return self.training(env, num_tasks).train

    def _task_start(self, agent: AgentState, task_id: jax.Array) -> AgentState:
        states = dict(agent.components)
        for c in self._starts:
            states[c.name] = c.on_task_start(states[c.name], agent.learner.params, task_id)
        return agent._replace(components=states)

    def _task_end(self, agent: AgentState, batch, key: jax.Array) -> AgentState:
        states = dict(agent.components)
        for c, k in zip(self._ends, jax.random.split(key, max(1, len(self._ends)))):
            states[c.name] = c.on_task_end(states[c.name], agent.learner.params, batch,
                                           self.learner.spec, k)
        return agent._replace(components=states)

    def run(self, seed_keys: jax.Array, stream: Sequence[Task], eval_params,
            on_task: Callable[[int], None] | None = None, resume: Snapshot | None = None,
            on_snapshot: Callable[[Snapshot], None] | None = None,
            snapshot_every_s: float | None = None) -> StreamRun:
        """Trains through `stream`. Eval point 0 of the returns is the untrained agent;
        `eval_params` are the evaluator's stacked task parameters (`make_evaluator`).

        `on_snapshot` receives the run after every stream position and, when
        `snapshot_every_s` is given, inside a task after the first eval period that ends at
        least that many seconds after the previous snapshot (for checkpoints). `resume`
        continues from such a snapshot, bit-identical to an uninterrupted run.
        Raises `Diverged` when training leaves NaN/Inf in the parameters.
        """
        num_seeds = seed_keys.shape[0]
        # Pad the seeds so every device gets an equal share; padding is discarded at the end
        # (each seed is an independent vmap lane, so it never changes the real seeds). A
        # padded lane repeats a real seed's key, so its state is a copy of that seed's.
        padding = padded_seed_count(num_seeds) - num_seeds
        pad = partial(jax.tree.map, lambda x: jnp.concatenate([x, x[:padding]]))
        seed_keys = pad(seed_keys)
        sharding = seed_sharding(seed_keys.shape[0])
        place = (lambda tree: tree) if sharding is None else partial(jax.device_put,
                                                                     device=sharding)
        seed_keys = place(seed_keys)
        key_init, key_eval, key_tasks = jax.vmap(lambda k: jax.random.split(k, 3),
                                                 out_axes=1)(seed_keys)
        if resume is None:
            agent = self._init(key_init)
            curves = [self._evaluate(agent, eval_params, key_eval)[:, None]]
            diagnostics, start, evals_done = [], 0, 0
        else:
            agent = place(pad(jax.tree.map(jnp.asarray, resume.agent)))
            curves, diagnostics = [pad(jnp.asarray(resume.returns))], [pad(resume.diagnostics)]
            start, evals_done = resume.position, resume.evals_done
        real = partial(jax.tree.map, lambda x: np.asarray(x)[:num_seeds])

        def snapshot(position: int, state: AgentState, evals: int = 0, rest=None) -> Snapshot:
            return Snapshot(position, real(state), real(jnp.concatenate(curves, axis=1)),
                            {name: np.concatenate([real(d[name]) for d in diagnostics], axis=1)
                             for name in diagnostics[0]},
                            evals, None if rest is None else real(rest))

        last_snapshot = time.monotonic()

        def train(position: int, name: str, training: TaskTraining, params, key: jax.Array,
                  num_evals: int) -> tuple[AgentState, object]:
            """One task (or, multitask, all of them) from eval period `evals_done` on;
            returns the trained agent and the last rollout's batch."""
            nonlocal last_snapshot
            if evals_done == 0:
                carry = training.start(agent, params, key)
            else:  # inside the task: the checkpoint holds the rest of the carry
                template = jax.eval_shape(training.start, agent, params, key)
                rest = serialization.to_state_dict(resume.carry)
                rest = serialization.from_state_dict(template[1:], rest)
                carry = (agent, *place(pad(jax.tree.map(jnp.asarray, rest))))
            for k in range(evals_done, num_evals):
                carry, (returns, diags) = training.chunk(carry, params, eval_params)
                curves.append(returns[:, None])
                diagnostics.append(_finite({n: v[:, None] for n, v in diags.items()}, position,
                                           name, num_seeds, (k + 1) * self.eval_every))
                due = (snapshot_every_s is not None
                       and time.monotonic() - last_snapshot >= snapshot_every_s)
                inside = k + 1 < num_evals and not stream[position].env.host_stepped
                if on_snapshot is not None and due and inside:
                    on_snapshot(snapshot(position, carry[0], k + 1, carry[1:]))
                    last_snapshot = time.monotonic()
            return carry[0], carry[2]

        def finished(position: int) -> None:
            nonlocal last_snapshot, evals_done
            evals_done = 0
            if on_snapshot is not None:
                on_snapshot(snapshot(position, agent))
                last_snapshot = time.monotonic()

        if self.multitask and start == 0:
            if on_task is not None:
                on_task(0)
            tasks = list({id(t): t for t in stream}.values())
            training = self.training(stream[0].env, len(stream))
            agent, _ = train(0, "all tasks", training, stack_params([t.params for t in tasks]),
                             key_tasks, self.num_evals * len(stream))
            start = len(stream)
            finished(start)
        for position in range(start, len(stream)):
            task = stream[position]
            if on_task is not None:
                on_task(position)
            keys = jax.vmap(lambda k, p=position: jax.random.fold_in(k, p))(key_tasks)
            key_train, key_end = jax.vmap(jax.random.split, out_axes=1)(keys)
            if self.boundaries_visible and self._starts and evals_done == 0:
                agent = self._start(agent, task.params.task_id)
            training, inputs = self.training(task.env), self.inputs(task)
            agent, batch = train(position, task.name, training, inputs, key_train,
                                 self.num_evals)
            if self.boundaries_visible and self._ends:
                agent = self._end(agent, batch, key_end)
            if self.boundaries_visible and training.finish is not None:
                agent = training.finish(agent, inputs, jax.vmap(partial(jax.random.fold_in,
                                                                        data=1))(key_end))
            finished(position + 1)
        final = snapshot(len(stream), agent)
        return StreamRun(final.returns, final.diagnostics, final.agent)


class Diverged(RuntimeError):
    """Training left NaN/Inf in the parameters."""

    def __init__(self, position: int, task: str, seed: int, step: int):
        self.position, self.task, self.seed, self.step = position, task, seed, step
        super().__init__(f"stream position {position + 1} (task {task!r}), seed {seed}: "
                         f"parameters became NaN/Inf by env step {step:,} of the task")


def _finite(diagnostics: dict[str, jax.Array], position: int, task: str, num_seeds: int,
            step: int) -> dict[str, jax.Array]:
    """One eval period's diagnostics ([seeds, 1] each) without the learner's `nonfinite`
    flag; raises `Diverged` if it is set (`step`: the task's env step at the period's end)."""
    diagnostics = dict(diagnostics)
    bad = np.asarray(diagnostics.pop("nonfinite"))[:num_seeds, 0] > 0  # [seeds]
    if bad.any():
        raise Diverged(position, task, int(np.argmax(bad)), step)
    return diagnostics


def random_returns(scenario: Scenario, evaluator: Evaluator, eval_params,
                   keys: jax.Array) -> np.ndarray:
    """[eval_tasks] mean return of a uniform-random policy (over seeds and episodes)."""
    env = scenario.tasks[0].env
    if scenario.host_stepped:
        return evaluator(lambda _: random_actor(env), keys, keys).mean(axis=0)
    evaluate = jax.jit(jax.vmap(lambda k: evaluator(random_actor(env), eval_params, k)))
    return np.asarray(evaluate(keys)).mean(axis=0)
