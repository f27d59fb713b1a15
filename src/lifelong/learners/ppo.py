"""PPO (clipped surrogate, GAE) whose per-task training is jitted `lax.scan`s.

`PPO.make_train_task` returns the training of one task: `train(state, task_params,
eval_params, key)` runs `num_evals` chunks of `updates_per_eval` PPO updates, evaluating
every eval task after each chunk, and `start` / `chunk` are the same in eval periods (the
runner steps through them to checkpoint inside a task). The runner vmaps them over seeds.
Components act through `learners.seams` (network building, optimizer chain, gradient step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from pydantic import BaseModel, ConfigDict, Field

from lifelong.components.component import AgentSpec, Batch, Component
from lifelong.envs import TaskEnv, TaskParams
from lifelong.evaluation.rollout import Evaluator
from lifelong.learners import seams
from lifelong.learners.distributions import Categorical, DiagGaussian
from lifelong.learners.networks import ActorCritic, features
from lifelong.learners.seams import AgentState, TaskTraining, build_network


class PPOConfig(BaseModel):
    """PPO hyperparameters (defaults: PureJaxRL's CartPole settings, constant learning rate)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["ppo"] = "ppo"
    num_envs: int = Field(4, ge=1, description="Parallel environments per seed.")
    num_steps: int = Field(128, ge=1, description="Rollout length per environment.")
    update_epochs: int = Field(4, ge=1)
    num_minibatches: int = Field(4, ge=1)
    lr: float = Field(2.5e-4, gt=0)
    gamma: float = Field(0.99, gt=0, le=1)
    gae_lambda: float = Field(0.95, ge=0, le=1)
    clip_eps: float = Field(0.2, gt=0)
    ent_coef: float = Field(0.01, ge=0)
    vf_coef: float = Field(0.5, ge=0)
    max_grad_norm: float = Field(0.5, gt=0)
    hidden: list[int] = Field([64, 64], min_length=1)
    activation: Literal["tanh", "relu"] = "tanh"

    @property
    def steps_per_update(self) -> int:
        return self.num_envs * self.num_steps


class Transition(NamedTuple):
    obs: jax.Array
    task_id: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array


@dataclass(frozen=True)
class PPO:
    config: PPOConfig
    network: ActorCritic
    components: tuple[Component, ...]
    spec: AgentSpec

    @classmethod
    def build(cls, config: PPOConfig, components: tuple[Component, ...], task_env: TaskEnv,
              num_tasks: int, steps_per_task: int) -> PPO:
        network = ActorCritic(task_env.action_dim, task_env.discrete, tuple(config.hidden),
                              config.activation)
        distribution = Categorical() if task_env.discrete else DiagGaussian()
        updates = (steps_per_task // config.steps_per_update * config.update_epochs
                   * config.num_minibatches)
        spec = AgentSpec(task_env.obs_dim, task_env.action_dim, task_env.discrete, num_tasks,
                         apply=network.apply, distribution=distribution,
                         features=partial(features, network),
                         hidden_layers=network.hidden_layers(), updates_per_task=updates)
        network, spec = build_network(network, spec, components)
        return cls(config, network, components, spec)

    def optimizer(self) -> optax.GradientTransformationExtraArgs:
        return seams.optimizer(self.components, self.spec, self.config.lr,
                               self.config.max_grad_norm)

    def init(self, key: jax.Array) -> AgentState:
        return seams.init_agent(self.network, self.spec, self.components, self.optimizer(), key)

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        head, _ = self.spec.apply(params, obs, task_id)
        dist = self.spec.distribution
        return dist.mode(head) if greedy else dist.sample(head, key)

    def _loss(self, params, component_states, mb: Transition, advantages, targets, batch,
              key):
        cfg, dist = self.config, self.spec.distribution
        head, value = self.spec.apply(params, mb.obs, batch.task_id)
        log_prob = dist.log_prob(head, mb.action)
        value_clipped = mb.value + jnp.clip(value - mb.value, -cfg.clip_eps, cfg.clip_eps)
        value_loss = 0.5 * jnp.maximum((value - targets) ** 2,
                                       (value_clipped - targets) ** 2).mean()
        ratio = jnp.exp(log_prob - mb.log_prob)
        adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        clipped = jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv
        actor_loss = -jnp.minimum(ratio * adv, clipped).mean()
        entropy = dist.entropy(head).mean()
        loss = actor_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy
        return seams.with_penalties(loss, self.components, self.spec, params, component_states,
                                    batch, key)

    def _gae(self, traj: Transition, last_value: jax.Array) -> tuple[jax.Array, jax.Array]:
        cfg = self.config

        def backward(carry, t: Transition):
            gae, next_value = carry
            delta = t.reward + cfg.gamma * next_value * (1 - t.done) - t.value
            gae = delta + cfg.gamma * cfg.gae_lambda * (1 - t.done) * gae
            return (gae, t.value), gae

        _, advantages = jax.lax.scan(backward, (jnp.zeros_like(last_value), last_value), traj,
                                     reverse=True)
        return advantages, advantages + traj.value

    def _update_minibatch(self, agent: AgentState, mb, key: jax.Array) -> AgentState:
        traj, advantages, targets, task_id = mb
        batch = Batch(traj.obs, traj.action, task_id)
        grad_fn = lambda params, key: jax.grad(self._loss)(  # noqa: E731
            params, agent.components, traj, advantages, targets, batch, key)
        return seams.gradient_step(agent, grad_fn, self.components, self.spec,
                                   self.optimizer(), batch, key)

    def make_train_task(
        self, task_env: TaskEnv, evaluator: Evaluator, num_evals: int, updates_per_eval: int,
        on_eval: Callable[[jax.Array, jax.Array], None] | None = None, multitask: bool = False,
    ) -> TaskTraining:
        """The training of one task, whole (`train`) and in eval periods (`start`, `chunk`).

        `train(state, task_params, eval_params, key) -> (state, returns, diagnostics, batch)`
        runs `num_evals` chunks of `updates_per_eval` PPO updates, evaluating every eval task
        after each chunk; it is `start` followed by a scan of `chunk`:
        `start(state, task_params, key) -> carry` resets the envs, and
        `chunk(carry, task_params, eval_params) -> (carry, (returns, diagnostics))` runs one
        eval period. The carry (agent state, env states, observations, running episode
        returns, PRNG key, last rollout) is all the task's progress, so a checkpoint taken
        between chunks resumes the task exactly.

        returns: [num_evals, eval_tasks] mean episodic return after each chunk;
        diagnostics: {name: [num_evals]} plasticity diagnostics after each chunk,
            `train_return` (mean return of the training episodes that ended in the chunk;
            NaN if none did) and `nonfinite` (1 where a parameter is NaN/Inf);
        batch: the last rollout's states and actions (for consolidation at task end).
        `on_eval(episode_return_sum, episode_count)` is called from inside the scan after
        each chunk (progress display); it must not affect the result.
        With `multitask`, `task_params` are stacked over tasks [K] and environment i runs
        task i % K; each transition keeps its own task id.
        """
        cfg = self.config
        params_axis = 0 if multitask else None
        step_env = jax.vmap(task_env.step, in_axes=(0, 0, 0, params_axis))
        reset_env = jax.vmap(task_env.reset, in_axes=(0, params_axis))
        minibatch_size = cfg.steps_per_update // cfg.num_minibatches

        per_env = partial(seams.per_env_params, num_envs=cfg.num_envs, multitask=multitask)

        def start(agent: AgentState, params: TaskParams, key: jax.Array):
            params = per_env(params)
            key, key_reset = jax.random.split(key)
            obs, env_state = reset_env(jax.random.split(key_reset, cfg.num_envs), params)
            action_shape = (cfg.steps_per_update,) + (() if task_env.discrete
                                                       else (task_env.action_dim,))
            action_dtype = jnp.int32 if task_env.discrete else jnp.float32
            last = Batch(jnp.zeros((cfg.steps_per_update, task_env.obs_dim)),
                         jnp.zeros(action_shape, action_dtype),
                         jnp.zeros(cfg.steps_per_update, jnp.int32) if multitask
                         else params.task_id)
            return agent, (env_state, obs, jnp.zeros(cfg.num_envs), key), last

        def chunk(carry, params: TaskParams, eval_params):
            params = per_env(params)
            task_id = params.task_id  # [] or, multitask, [num_envs]

            # Task parameters are closed over, never carried: the scans carry only what changes.
            def rollout_step(net_params, carry, _):
                env_state, obs, ep_return, key = carry
                key, key_act, key_step = jax.random.split(key, 3)
                head, value = self.spec.apply(net_params, obs, task_id)
                action = self.spec.distribution.sample(head, key_act)
                log_prob = self.spec.distribution.log_prob(head, action)
                step_keys = jax.random.split(key_step, cfg.num_envs)
                next_obs, env_state, reward, done = step_env(step_keys, env_state, action,
                                                             params)
                ep_return = ep_return + reward
                finished = (jnp.where(done, ep_return, 0.0).sum(), done.sum())
                ep_return = jnp.where(done, 0.0, ep_return)
                transition = Transition(obs, jnp.broadcast_to(task_id, (cfg.num_envs,)), action,
                                        log_prob, value, reward, done.astype(jnp.float32))
                return (env_state, next_obs, ep_return, key), (transition, finished)

            def epoch(traj, advantages, targets, agent_key, _):
                agent, key = agent_key
                key, key_perm, key_mb = jax.random.split(key, 3)
                permutation = jax.random.permutation(key_perm, cfg.steps_per_update)
                shuffled = jax.tree.map(
                    lambda x: x.reshape(cfg.steps_per_update, *x.shape[2:])[permutation]
                    .reshape(cfg.num_minibatches, minibatch_size, *x.shape[2:]),
                    (traj, advantages, targets))

                def minibatch(agent, inputs):
                    (traj_mb, adv_mb, targets_mb), mb_key = inputs
                    mb = (traj_mb, adv_mb, targets_mb,
                          traj_mb.task_id if multitask else task_id)
                    return self._update_minibatch(agent, mb, mb_key), None

                mb_keys = jax.random.split(key_mb, cfg.num_minibatches)
                agent, _ = jax.lax.scan(minibatch, agent, (shuffled, mb_keys))
                return (agent, key), None

            def update(carry, _):
                agent, rollout, _ = carry
                net_params = agent.learner.params
                rollout, (traj, finished) = jax.lax.scan(
                    partial(rollout_step, net_params), rollout, None, cfg.num_steps)
                env_state, obs, ep_return, key = rollout
                _, last_value = self.spec.apply(net_params, obs, task_id)
                advantages, targets = self._gae(traj, last_value)
                key, key_epochs = jax.random.split(key)
                (agent, _), _ = jax.lax.scan(partial(epoch, traj, advantages, targets),
                                             (agent, key_epochs), None, cfg.update_epochs)
                last = Batch(traj.obs.reshape(-1, task_env.obs_dim),
                             traj.action.reshape(-1, *traj.action.shape[2:]),
                             traj.task_id.reshape(-1) if multitask else task_id)
                return (agent, (env_state, obs, ep_return, key), last), jax.tree.map(
                    jnp.sum, finished)


            carry, finished = jax.lax.scan(update, carry, None, updates_per_eval)
            agent, (env_state, obs, ep_return, key), last = carry
            key, key_eval = jax.random.split(key)
            returns, diagnostics = seams.eval_point(
                self.spec, evaluator, self.actor(agent.learner.params), agent.learner.params,
                eval_params, last, (finished[0].sum(), finished[1].sum()), key_eval, on_eval)
            return (agent, (env_state, obs, ep_return, key), last), (returns, diagnostics)

        def train(agent: AgentState, params: TaskParams, eval_params, key: jax.Array):
            carry = start(agent, params, key)
            (agent, _, last), (returns, diagnostics) = jax.lax.scan(
                lambda carry, _: chunk(carry, params, eval_params), carry, None, num_evals)
            return agent, returns, diagnostics, last

        return TaskTraining(start, chunk, train)

    def actor(self, params: Any) -> Callable[[jax.Array, jax.Array, jax.Array, bool], jax.Array]:
        """The evaluator's view of the policy with `params`."""
        return lambda obs, task_id, key, greedy: self.act(params, obs, task_id, key, greedy)
