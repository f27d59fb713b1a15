"""An off-policy learner's task training on a host-stepped (Gymnasium) env.

The env steps in Python; everything else is one jitted call per env step, vmapped over
seeds: store the transition, run an update round when one is due, and choose the next
actions. One vector env holds every seed's `num_envs` copies. The functions have the
`TaskTraining` contract of the jitted ones, on seed-batched agents; the carry holds live
Gymnasium envs, so a task cannot be checkpointed in its middle (a run resumes at the task's
start; its budget counts every env step, the reset steps of Gymnasium's autoreset included).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lifelong.envs.host_env import HostEnv, HostVector
from lifelong.evaluation.host_rollout import HostEvaluator
from lifelong.learners import seams
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState, TaskTraining

_COMPILED: dict[int, tuple] = {}  # id(learner) -> (learner, jitted step functions)


def _compiled(learner) -> tuple:
    """The jitted, seed-vmapped step functions of `learner`, compiled once for all of its
    tasks (each Gymnasium task has its own env object, but they share one spec)."""
    if id(learner) not in _COMPILED:
        steps = _Steps(learner)
        seeds = partial(jax.vmap, in_axes=(0, 0, 0, 0, 0, 0, 0, 0, None, None))
        # The agent (and its replay buffer) is donated: updated in place, never copied.
        observe = {update: jax.jit(seeds(partial(steps.observe, update=update)),
                                   donate_argnums=0) for update in (False, True)}
        functions = (observe, jax.jit(jax.vmap(steps.first_action, in_axes=(0, 0, None, 0))),
                     jax.jit(jax.vmap(steps.start, in_axes=(0, None, 0))),
                     jax.jit(jax.vmap(steps.diagnose, in_axes=(0, None, 0, 0, 0))))
        _COMPILED[id(learner)] = (learner, functions)
    return _COMPILED[id(learner)][1]


class HostRollout(NamedTuple):
    vector: HostVector
    obs: np.ndarray  # [seeds, num_envs, obs_dim]
    action: jax.Array  # [seeds, num_envs, ...] the actions chosen for `obs`
    episode_return: np.ndarray  # [seeds, num_envs]
    task_step: int
    key: jax.Array  # [seeds]


class _Steps:
    """What happens on device per env step, per seed."""

    def __init__(self, learner):
        self.learner = learner

    def first_action(self, agent: AgentState, obs, task_id, key):
        key, key_act = jax.random.split(key)
        return self.learner.training_action(agent.learner.params, obs, task_id, 0, key_act), key

    def observe(self, agent: AgentState, key, obs, action, reward, next_obs, terminated,
                valid, task_id, task_step, update: bool):
        """Stores a step's transitions, updates when due, picks the actions for `next_obs`."""
        key, key_add, key_update, key_act = jax.random.split(key, 4)
        rows = Transitions(obs, action, reward, next_obs, terminated.astype(jnp.float32),
                           jnp.broadcast_to(task_id, reward.shape))
        agent = self.learner.store(agent, rows, valid, key_add)
        if update:
            agent = self.learner.update_round(agent, task_id, key_update)
        next_action = self.learner.training_action(agent.learner.params, next_obs, task_id,
                                                   task_step, key_act)
        return agent, next_action, key

    def start(self, agent: AgentState, task_id, key):
        agent = self.learner.task_start(agent)
        return agent, self.learner.consolidation_batch(agent, task_id, key)

    def diagnose(self, agent: AgentState, task_id, key, return_sum, episodes):
        last = self.learner.consolidation_batch(agent, task_id, key)
        diagnostics = seams.period_diagnostics(self.learner.spec, agent.learner.params, last,
                                               (return_sum, episodes))
        return diagnostics, last


class HostTraining:
    def __init__(self, learner, task_env: HostEnv, evaluator: HostEvaluator, num_evals: int,
                 updates_per_eval: int, on_eval: Callable | None = None,
                 multitask: bool = False):
        del multitask  # refused for host-stepped scenarios by `build_agent`
        self.learner, self.env, self.evaluator = learner, task_env, evaluator
        self.num_evals, self.updates_per_eval, self.on_eval = num_evals, updates_per_eval, on_eval
        self._observe, self._first, self._start, self._diagnose = _compiled(learner)

    def _vector(self, seeds: int) -> HostVector:
        if seeds not in self._vectors:
            self._vectors[seeds] = self.env.vector(seeds * self.learner.config.num_envs,
                                                   self.learner.config.asynchronous, "train")
        return self._vectors[seeds]

    def start(self, agent: AgentState, params, key: jax.Array):
        cfg = self.learner.config
        seeds, num_envs = key.shape[0], cfg.num_envs
        keys = jax.vmap(lambda k: jax.random.split(k, 3))(key)
        vector = self.env.vector(seeds * num_envs, cfg.asynchronous, "train")
        obs = vector.reset(seed=int(jax.random.randint(keys[0, 2], (), 0, 2**30)))
        obs = obs.reshape(seeds, num_envs, -1)
        agent, last = self._start(agent, params.task_id, keys[:, 0])
        action, rollout_key = self._first(agent, obs, params.task_id, keys[:, 1])
        rollout = HostRollout(vector, obs, action, np.zeros((seeds, num_envs)), 0, rollout_key)
        return agent, rollout, last

    def chunk(self, carry, params, eval_params):
        del eval_params
        agent, rollout, _ = carry
        cfg = self.learner.config
        vector, obs, action, episode_return, task_step, key = rollout
        seeds, num_envs = obs.shape[:2]
        return_sum, episodes = np.zeros(seeds), np.zeros(seeds)
        for _ in range(self.updates_per_eval):
            for t in range(cfg.train_every):
                flat = np.asarray(action).reshape(seeds * num_envs, *action.shape[2:])
                step = vector.step(self.env.env_actions(flat))
                shaped = [np.reshape(x, (seeds, num_envs, *x.shape[1:]))
                          for x in (step.obs, step.reward, step.terminated, step.truncated,
                                    step.valid)]
                next_obs, reward, terminated, truncated, valid = shaped
                task_step += num_envs
                agent, action, key = self._observe[t == cfg.train_every - 1](
                    agent, key, obs, action, reward, next_obs, terminated, valid,
                    params.task_id, task_step)
                episode_return = episode_return + np.where(valid, reward, 0.0)
                done = valid & (terminated | truncated)
                return_sum += np.where(done, episode_return, 0.0).sum(axis=1)
                episodes += done.sum(axis=1)
                episode_return = np.where(done, 0.0, episode_return)
                obs = next_obs
        keys = jax.vmap(lambda k: jax.random.split(k, 3))(key)
        diagnostics, last = self._diagnose(agent, params.task_id, keys[:, 1],
                                           jnp.asarray(return_sum), jnp.asarray(episodes))
        returns = self.evaluator(self.learner.actor, agent.learner.params, keys[:, 2])
        if self.on_eval is not None:
            self.on_eval(return_sum, episodes)
        rollout = HostRollout(vector, obs, action, episode_return, task_step, keys[:, 0])
        return (agent, rollout, last), (jnp.asarray(returns), diagnostics)

    def train(self, agent: AgentState, params, eval_params, key: jax.Array):
        carry = self.start(agent, params, key)
        returns, diagnostics = [], []
        for _ in range(self.num_evals):
            carry, (r, d) = self.chunk(carry, params, eval_params)
            returns.append(r)
            diagnostics.append(d)
        stacked = {name: jnp.stack([d[name] for d in diagnostics], axis=1)
                   for name in diagnostics[0]}
        return carry[0], jnp.stack(returns, axis=1), stacked, carry[2]

    def functions(self) -> TaskTraining:
        return TaskTraining(self.start, self.chunk, self.train)

