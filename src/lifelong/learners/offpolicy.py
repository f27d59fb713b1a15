"""What SAC and DQN share: the replay buffer in the agent state, the task protocol
(Continual World's buffer and optimizer resets, random actions at task start) and the task
training, fully jitted on gymnax envs or host-stepped on Gymnasium envs.

A learner subclasses `OffPolicy` with its network, its loss on a replay batch, its
exploration and its target update; the components' seams (`learners.seams`) are the same as
PPO's. Training alternates `train_every` env steps (each writes `num_envs` transitions to the
buffer) with `gradient_steps` updates, once the buffer holds `learning_starts` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from pydantic import BaseModel, ConfigDict, Field

from lifelong.components.component import AgentSpec, Batch, Component
from lifelong.envs import TaskEnv, TaskParams
from lifelong.evaluation.rollout import Evaluator
from lifelong.learners import replay, seams
from lifelong.learners.networks import features
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState, TaskTraining


class OffPolicyConfig(BaseModel):
    """Options every off-policy learner has (defaults: Continual World's SAC protocol)."""

    model_config = ConfigDict(extra="forbid")

    num_envs: int = Field(1, ge=1, description="Parallel environments per seed.")
    buffer_size: int = Field(1_000_000, ge=1, description="Replay capacity (transitions).")
    buffer: replay.Kind = Field("fifo", description="fifo; reservoir (every transition seen "
                                "is kept with equal probability); per_task (capacity split "
                                "per task, batches balanced over the tasks seen).")
    reset_buffer: bool = Field(True, description="Empty the buffer when a task starts "
                               "(false with a large buffer: Continual World's perfect memory).")
    reset_optimizer: bool = Field(True, description="Reset the optimizer when a task starts.")
    batch_size: int = Field(128, ge=1)
    learning_starts: int = Field(1000, ge=1, description="Transitions in the buffer before "
                                 "the first update.")
    random_steps: int = Field(10_000, ge=0, description="Env steps of each task that act "
                              "uniformly at random.")
    train_every: int = Field(1, ge=1, description="Env steps (per env) between update rounds.")
    gradient_steps: int = Field(1, ge=1, description="Updates per round.")
    gamma: float = Field(0.99, gt=0, le=1)
    lr: float = Field(1e-3, gt=0)
    max_grad_norm: float | None = Field(None, gt=0, description="Global gradient clipping "
                                        "(null: none).")
    hidden: list[int] = Field([256, 256], min_length=1)
    activation: str = Field("relu", pattern="^(relu|tanh|leaky_relu)$")
    consolidation_batch: int = Field(1024, ge=1, description="Buffer rows given to the "
                                     "components at a task's end (e.g. EWC's Fisher).")
    asynchronous: bool = Field(False, description="Gymnasium envs: step them in subprocesses.")

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.train_every


class Aux(NamedTuple):
    buffer: replay.Buffer
    target: Any  # target network variables
    updates: jax.Array  # [] int32 gradient steps taken (for periodic target updates)


class Rollout(NamedTuple):
    """The env side of a task's carry (per seed)."""

    env_state: Any
    obs: jax.Array  # [num_envs, obs_dim]
    episode_return: jax.Array  # [num_envs]
    task_step: jax.Array  # [] int32 env steps taken in this task (over all envs)
    key: jax.Array


@dataclass(frozen=True)
class OffPolicy:
    config: OffPolicyConfig
    network: Any
    components: tuple[Component, ...]
    spec: AgentSpec
    regions: int  # replay regions: num_tasks for per_task buffers, else 1
    steps_per_task: int

    distribution: ClassVar[Any]

    # --- what a learner defines -------------------------------------------------------------
    @classmethod
    def make_network(cls, config: OffPolicyConfig, task_env) -> Any:
        raise NotImplementedError

    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        """The learner's loss on a replay batch (components' penalties are added to it);
        `rows.task_id` is one id for the batch or one per row."""
        raise NotImplementedError

    def explore(self, params, obs: jax.Array, task_id: jax.Array, task_step: jax.Array,
                key: jax.Array) -> jax.Array:
        """Training actions (the buffer's form) once the random steps are over."""
        raise NotImplementedError

    def update_target(self, aux: Aux, params) -> Aux:
        raise NotImplementedError

    # --- shared -------------------------------------------------------------------------------
    @classmethod
    def build(cls, config: OffPolicyConfig, components: tuple[Component, ...], task_env,
              num_tasks: int, steps_per_task: int) -> OffPolicy:
        network = cls.make_network(config, task_env)
        rounds = steps_per_task // config.steps_per_update
        warmup = -(-config.learning_starts // config.steps_per_update)
        spec = AgentSpec(task_env.obs_dim, task_env.action_dim, task_env.discrete, num_tasks,
                         apply=network.apply, distribution=cls.distribution,
                         features=partial(features, network),
                         hidden_layers=network.hidden_layers(),
                         updates_per_task=max(1, (rounds - warmup + 1) * config.gradient_steps))
        network, spec = seams.build_network(network, spec, components)
        regions = num_tasks if config.buffer == "per_task" else 1
        return cls(config, network, components, spec, regions, steps_per_task)

    def optimizer(self) -> optax.GradientTransformationExtraArgs:
        norm = self.config.max_grad_norm
        return seams.optimizer(self.components, self.spec, self.config.lr,
                               float("inf") if norm is None else norm)

    def init(self, key: jax.Array) -> AgentState:
        cfg, spec = self.config, self.spec
        action_shape = () if spec.discrete else (spec.action_dim,)
        buffer = replay.init(cfg.buffer_size, self.regions, spec.obs_dim, action_shape,
                             spec.discrete)
        agent = seams.init_agent(self.network, spec, self.components, self.optimizer(), key)
        return agent._replace(aux=Aux(buffer, agent.learner.params, jnp.int32(0)))

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        """Evaluation actions (normalized, for continuous envs)."""
        raise NotImplementedError

    def actor(self, params: Any) -> Callable[[jax.Array, jax.Array, jax.Array, bool], jax.Array]:
        """The evaluator's view of the policy with `params`."""
        return lambda obs, task_id, key, greedy: self.act(params, obs, task_id, key, greedy)

    def training_action(self, params, obs: jax.Array, task_id: jax.Array,
                        task_step: jax.Array, key: jax.Array) -> jax.Array:
        """Uniformly random for the task's first `random_steps` env steps, then `explore`."""
        key_random, key_explore = jax.random.split(key)
        n = obs.shape[0]
        if self.spec.discrete:
            random = jax.random.randint(key_random, (n,), 0, self.spec.action_dim)
        else:
            random = jax.random.uniform(key_random, (n, self.spec.action_dim), minval=-1,
                                        maxval=1)
        chosen = self.explore(params, obs, task_id, task_step, key_explore)
        return jnp.where(task_step < self.config.random_steps, random, chosen)

    def task_start(self, agent: AgentState) -> AgentState:
        """Continual World's protocol: the buffer and the optimizer start empty per task."""
        aux, learner = agent.aux, agent.learner
        if self.config.reset_buffer:
            aux = aux._replace(buffer=replay.clear(aux.buffer))
        if self.config.reset_optimizer:
            learner = learner._replace(opt_state=self.optimizer().init(learner.params))
        return agent._replace(learner=learner, aux=aux)

    def store(self, agent: AgentState, rows: Transitions, valid: jax.Array,
              key: jax.Array) -> AgentState:
        buffer = replay.add(agent.aux.buffer, rows, valid, self.config.buffer, key)
        return agent._replace(aux=agent.aux._replace(buffer=buffer))

    def _component_batch(self, rows: Transitions, task_id: jax.Array) -> Batch:
        """A replay batch with the task id its rows are seen with: the current task's while
        the buffer only holds it (a scalar id, which e.g. packnet's masks need), each row's
        own when it may hold other tasks' rows (no reset, or multitask)."""
        own = task_id.ndim > 0 or not self.config.reset_buffer
        return Batch(rows.obs, rows.action, rows.task_id if own else task_id)

    def update_round(self, agent: AgentState, task_id: jax.Array, key: jax.Array) -> AgentState:
        """`gradient_steps` updates on replay batches, once the buffer holds enough rows.

        All batches are drawn before the updates, and the buffer (the bulk of the state)
        passes through no loop or cond: XLA would copy it at every step. (Under the seeds'
        vmap the cond is a select of both branches' outputs.)"""
        cfg, buffer = self.config, agent.aux.buffer
        key_sample, key_steps = jax.random.split(key)
        rows = replay.sample(buffer, cfg.batch_size * cfg.gradient_steps, key_sample)
        rows = jax.tree.map(lambda x: x.reshape(cfg.gradient_steps, cfg.batch_size,
                                                *x.shape[1:]), rows)

        def one(agent: AgentState, inputs) -> tuple[AgentState, None]:
            rows, key = inputs
            batch = self._component_batch(rows, task_id)

            def grad_fn(params, key):
                def total(params):
                    loss = self.loss(params, agent, rows._replace(task_id=batch.task_id), key)
                    return seams.with_penalties(loss, self.components, self.spec, params,
                                                agent.components, batch, key)
                return jax.grad(total)(params)

            agent = seams.gradient_step(agent, grad_fn, self.components, self.spec,
                                        self.optimizer(), batch, key)
            aux = agent.aux._replace(updates=agent.aux.updates + 1)
            return agent._replace(aux=self.update_target(aux, agent.learner.params)), None

        def run(light: AgentState) -> AgentState:
            keys = jax.random.split(key_steps, cfg.gradient_steps)
            return jax.lax.scan(one, light, (rows, keys))[0]

        ready = replay.filled(buffer).sum() >= cfg.learning_starts
        light = agent._replace(aux=agent.aux._replace(buffer=None))
        light = jax.lax.cond(ready, run, lambda light: light, light)
        return light._replace(aux=light.aux._replace(buffer=buffer))

    def consolidation_batch(self, agent: AgentState, task_id: jax.Array,
                            key: jax.Array) -> Batch:
        rows = replay.sample(agent.aux.buffer, self.config.consolidation_batch, key)
        return self._component_batch(rows, task_id)

    def make_train_task(
        self, task_env: TaskEnv, evaluator: Evaluator, num_evals: int, updates_per_eval: int,
        on_eval: Callable[[jax.Array, jax.Array], None] | None = None, multitask: bool = False,
    ) -> TaskTraining:
        """The training of one task on a gymnax env, jitted as PPO's (`PPO.make_train_task`
        has the contract); `updates_per_eval` counts update rounds."""
        cfg = self.config
        params_axis = 0 if multitask else None
        transition = jax.vmap(task_env.transition, in_axes=(0, 0, 0, params_axis))
        reset_env = jax.vmap(task_env.reset, in_axes=(0, params_axis))
        per_env = partial(seams.per_env_params, num_envs=cfg.num_envs, multitask=multitask)

        def start(agent: AgentState, params: TaskParams, key: jax.Array):
            params = per_env(params)
            key, key_reset, key_last = jax.random.split(key, 3)
            obs, env_state = reset_env(jax.random.split(key_reset, cfg.num_envs), params)
            agent = self.task_start(agent)
            rollout = Rollout(env_state, obs, jnp.zeros(cfg.num_envs), jnp.int32(0), key)
            return agent, rollout, self.consolidation_batch(agent, params.task_id, key_last)

        def chunk(carry, params: TaskParams, eval_params):
            params = per_env(params)
            task_ids = jnp.broadcast_to(params.task_id, (cfg.num_envs,))

            def env_step(agent_rollout, _):
                agent, rollout = agent_rollout
                key, key_act, key_step, key_add = jax.random.split(rollout.key, 4)
                action = self.training_action(agent.learner.params, rollout.obs, params.task_id,
                                              rollout.task_step, key_act)
                obs, env_state, reward, terminated, truncated, final_obs = transition(
                    jax.random.split(key_step, cfg.num_envs), rollout.env_state, action, params)
                rows = Transitions(rollout.obs, action, reward, final_obs,
                                   terminated.astype(jnp.float32), task_ids)
                agent = self.store(agent, rows, jnp.ones(cfg.num_envs, bool), key_add)
                done = terminated | truncated
                episode_return = rollout.episode_return + reward
                finished = (jnp.where(done, episode_return, 0.0).sum(), done.sum())
                rollout = Rollout(env_state, obs, jnp.where(done, 0.0, episode_return),
                                  rollout.task_step + cfg.num_envs, key)
                return (agent, rollout), finished

            def round_(agent_rollout, _):
                (agent, rollout), finished = jax.lax.scan(env_step, agent_rollout, None,
                                                          cfg.train_every)
                key, key_update = jax.random.split(rollout.key)
                agent = self.update_round(agent, params.task_id, key_update)
                return (agent, rollout._replace(key=key)), jax.tree.map(jnp.sum, finished)

            agent, rollout, _ = carry
            (agent, rollout), finished = jax.lax.scan(round_, (agent, rollout), None,
                                                      updates_per_eval)
            key, key_last, key_eval = jax.random.split(rollout.key, 3)
            last = self.consolidation_batch(agent, params.task_id, key_last)
            returns, diagnostics = seams.eval_point(
                self.spec, evaluator, self.actor(agent.learner.params), agent.learner.params,
                eval_params, last, (finished[0].sum(), finished[1].sum()), key_eval, on_eval)
            return (agent, rollout._replace(key=key), last), (returns, diagnostics)

        def train(agent: AgentState, params: TaskParams, eval_params, key: jax.Array):
            carry = start(agent, params, key)
            (agent, _, last), (returns, diagnostics) = jax.lax.scan(
                lambda carry, _: chunk(carry, params, eval_params), carry, None, num_evals)
            return agent, returns, diagnostics, last

        return TaskTraining(start, chunk, train)

    def host_training(self, task_env, evaluator, num_evals: int, updates_per_eval: int,
                      on_eval: Callable[[np.ndarray, np.ndarray], None] | None = None,
                      multitask: bool = False) -> TaskTraining:
        """The training of one task on a host-stepped Gymnasium env (see `host_loop`)."""
        from lifelong.learners.host_loop import HostTraining

        return HostTraining(self, task_env, evaluator, num_evals, updates_per_eval, on_eval,
                            multitask).functions()
