"""What the offline learners (BC, TD3+BC, IQL, OER) share: training on a task's dataset
instead of an environment, and a small rehearsal memory of the finished tasks.

An offline task's budget counts gradient steps: each draws `batch_size` rows of the task's
dataset uniformly. The evaluation still plays the task's env (evaluation only, never
training), so the task loop, the eval schedule and the metrics are the online ones. The
components' seams (`learners.seams`) are the same as the online learners', so `ewc`, `l2`,
`agem`, `packnet` etc. act on an offline learner unchanged.

Rehearsal (experience replay for continual offline RL, the setting of OER): with
`replay_per_task: K > 0`, each finished task leaves K of its dataset's transitions in a
memory with one region per task, chosen uniformly at random (`replay_selection: random`) or
by OER's model-based experience selection (`mbes`, see `learners.mbes`). Every later
gradient step then also draws `batch_size` memory rows, balanced over the regions, and adds
the learner's loss on them (`rehearsal_loss`). The memory is the learner's, next to the
target network in `AgentState.aux`; components never see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from pydantic import BaseModel, ConfigDict, Field

from lifelong.components.component import AgentSpec, Batch, Component
from lifelong.envs import TaskParams
from lifelong.errors import ConfigError
from lifelong.evaluation.rollout import Evaluator
from lifelong.learners import mbes, replay, seams
from lifelong.learners.networks import OfflineNetwork, features
from lifelong.learners.replay import Transitions
from lifelong.learners.seams import AgentState, TaskTraining


class MBESConfig(BaseModel):
    """OER's model-based experience selection (used with `replay_selection: mbes`)."""

    model_config = ConfigDict(extra="forbid")

    members: int = Field(5, ge=1, description="Dynamics models in the ensemble.")
    hidden: list[int] = Field([200, 200], min_length=1, description="Each model's MLP.")
    steps: int = Field(2000, ge=1, description="Gradient steps fitting the ensemble on the "
                       "task's dataset.")
    batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    neighbours: int = Field(64, ge=1, description="Nearest dataset states a selection step "
                            "chooses among.")


class OfflineConfig(BaseModel):
    """Options every offline learner has."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(256, ge=1, description="Dataset rows per gradient step.")
    lr: float = Field(3e-4, gt=0)
    gamma: float = Field(0.99, gt=0, le=1)
    hidden: list[int] = Field([256, 256], min_length=1)
    activation: str = Field("relu", pattern="^(relu|tanh|leaky_relu)$")
    max_grad_norm: float | None = Field(None, gt=0, description="Global gradient clipping "
                                        "(null: none).")
    reset_optimizer: bool = Field(False, description="Reset the optimizer when a task starts.")
    consolidation_batch: int = Field(1024, ge=1, description="Dataset rows given to the "
                                     "components at a task's end (e.g. EWC's Fisher).")
    replay_per_task: int = Field(0, ge=0, description="Transitions of each finished task kept "
                                 "for rehearsal (0: none, plain fine-tuning).")
    replay_selection: Literal["random", "mbes"] = Field(
        "random", description="How the kept transitions are chosen: uniformly, or by OER's "
        "model-based experience selection.")
    mbes: MBESConfig = Field(MBESConfig(), description="Options of `replay_selection: mbes`.")

    @property
    def steps_per_update(self) -> int:
        return 1  # the budget counts gradient steps


class OfflineInputs(NamedTuple):
    """What an offline task's training reads: the eval env's parameters and the dataset."""

    params: TaskParams
    data: Transitions  # [N, ...] on the device
    successor: jax.Array  # [N] int32: the row following each row in its episode, -1 at ends


class Aux(NamedTuple):
    target: Any  # target network variables
    updates: jax.Array  # [] int32 gradient steps taken
    memory: replay.Buffer  # the rehearsal memory: one region per task
    tasks_done: jax.Array  # [] int32 finished tasks (the next one's memory region)


class Carry(NamedTuple):
    agent: AgentState
    key: jax.Array
    last: Batch  # dataset rows for the components at the task's end


def sample_rows(data: Transitions, batch_size: int, key: jax.Array) -> Transitions:
    """`batch_size` dataset rows drawn uniformly with replacement."""
    index = jax.random.randint(key, (batch_size,), 0, data.reward.shape[0])
    return jax.tree.map(lambda x: x[index], data)


@dataclass(frozen=True)
class Offline:
    config: OfflineConfig
    network: Any
    components: tuple[Component, ...]
    spec: AgentSpec
    num_tasks: int

    distribution: ClassVar[Any]
    state_value: ClassVar[bool] = False  # whether the network has a state-value torso (IQL)
    dual_actor: ClassVar[bool] = False  # whether it has a second actor (OER's dual BC)

    # --- what a learner defines -------------------------------------------------------------
    def loss(self, params, agent: AgentState, rows: Transitions, key: jax.Array) -> jax.Array:
        """The learner's loss on a batch of dataset rows (components' penalties are added)."""
        raise NotImplementedError

    def rehearsal_loss(self, params, agent: AgentState, new: Transitions, old: Transitions,
                       old_valid: jax.Array, key: jax.Array) -> jax.Array:
        """The loss of one step on the new task's rows and the memory's: the learner's loss
        on each (the memory's weighted by `old_valid`, 0 while it is empty)."""
        key_new, key_old = jax.random.split(key)
        return (self.loss(params, agent, new, key_new)
                + old_valid * self.loss(params, agent, old, key_old))

    def act(self, params: Any, obs: jax.Array, task_id: jax.Array, key: jax.Array,
            greedy: bool = False) -> jax.Array:
        raise NotImplementedError

    def update_target(self, aux: Aux, params) -> Aux:
        return aux

    # --- shared -------------------------------------------------------------------------------
    @classmethod
    def build(cls, config: OfflineConfig, components: tuple[Component, ...], task_env,
              num_tasks: int, steps_per_task: int) -> Offline:
        if task_env.discrete:
            raise ConfigError("learner.name", f"the offline learners need continuous actions, "
                              f"but {task_env.name!r} has discrete ones")
        network = OfflineNetwork(task_env.action_dim, tuple(config.hidden), config.activation,
                                 state_value=cls.state_value, dual_actor=cls.dual_actor)
        spec = AgentSpec(task_env.obs_dim, task_env.action_dim, False, num_tasks,
                         apply=network.apply, distribution=cls.distribution,
                         features=partial(features, network),
                         hidden_layers=network.hidden_layers(), updates_per_task=steps_per_task)
        network, spec = seams.build_network(network, spec, components)
        return cls(config, network, components, spec, num_tasks)

    def optimizer(self) -> optax.GradientTransformationExtraArgs:
        norm = self.config.max_grad_norm
        return seams.optimizer(self.components, self.spec, self.config.lr,
                               float("inf") if norm is None else norm)

    def init(self, key: jax.Array) -> AgentState:
        cfg, spec = self.config, self.spec
        memory = replay.init(max(1, cfg.replay_per_task) * self.num_tasks, self.num_tasks,
                             spec.obs_dim, (spec.action_dim,), False)
        agent = seams.init_agent(self.network, spec, self.components, self.optimizer(), key)
        return agent._replace(aux=Aux(agent.learner.params, jnp.int32(0), memory,
                                      jnp.int32(0)))

    def actor(self, params: Any) -> Callable[[jax.Array, jax.Array, jax.Array, bool], jax.Array]:
        """The evaluator's view of the policy with `params`."""
        return lambda obs, task_id, key, greedy: self.act(params, obs, task_id, key, greedy)

    def task_start(self, agent: AgentState) -> AgentState:
        if not self.config.reset_optimizer:
            return agent
        learner = agent.learner._replace(opt_state=self.optimizer().init(agent.learner.params))
        return agent._replace(learner=learner)

    def update(self, agent: AgentState, data: Transitions, task_id: jax.Array,
               key: jax.Array) -> AgentState:
        """One gradient step on a dataset batch (and a memory batch when rehearsing)."""
        cfg = self.config
        key_new, key_old, key_step = jax.random.split(key, 3)
        # The task's rows are seen with its (scalar) id, as packnet's masks need; the memory's
        # rows each with their own.
        new = sample_rows(data, cfg.batch_size, key_new)._replace(task_id=task_id)
        batch = Batch(new.obs, new.action, task_id)
        if cfg.replay_per_task:
            old = replay.sample(agent.aux.memory, cfg.batch_size, key_old)
            old_valid = (replay.filled(agent.aux.memory).sum() > 0).astype(jnp.float32)

        def grad_fn(params, key):
            def total(params):
                if cfg.replay_per_task:
                    loss = self.rehearsal_loss(params, agent, new, old, old_valid, key)
                else:
                    loss = self.loss(params, agent, new, key)
                return seams.with_penalties(loss, self.components, self.spec, params,
                                            agent.components, batch, key)
            return jax.grad(total)(params)

        agent = seams.gradient_step(agent, grad_fn, self.components, self.spec,
                                    self.optimizer(), batch, key_step)
        aux = agent.aux._replace(updates=agent.aux.updates + 1)
        return agent._replace(aux=self.update_target(aux, agent.learner.params))

    def consolidation_batch(self, data: Transitions, task_id: jax.Array,
                            key: jax.Array) -> Batch:
        rows = sample_rows(data, self.config.consolidation_batch, key)
        return Batch(rows.obs, rows.action, task_id)

    def remember(self, agent: AgentState, inputs: OfflineInputs, key: jax.Array) -> AgentState:
        """At a task's end: its `replay_per_task` chosen transitions enter the memory region
        of the next finished-task count (so cycles and hidden task ids work alike)."""
        cfg, aux = self.config, agent.aux
        if not cfg.replay_per_task:
            return agent
        data, task_id = inputs.data, inputs.params.task_id
        key_select, key_act, key_add = jax.random.split(key, 3)
        if cfg.replay_selection == "mbes":
            policy = lambda obs: self.act(agent.learner.params, obs, task_id,  # noqa: E731
                                          key_act, greedy=True)
            index = mbes.select(data, inputs.successor, policy, cfg.mbes,
                                cfg.replay_per_task, key_select)
        else:
            index = jax.random.choice(key_select, data.reward.shape[0], (cfg.replay_per_task,),
                                      replace=data.reward.shape[0] < cfg.replay_per_task)
        rows = jax.tree.map(lambda x: x[index], data)
        rows = rows._replace(task_id=jnp.broadcast_to(task_id, rows.task_id.shape))
        region = aux.tasks_done % self.num_tasks
        memory = replay.add(replay.clear_region(aux.memory, region), rows,
                            jnp.ones(index.shape[0], bool), "per_task", key_add, region)
        return agent._replace(aux=aux._replace(memory=memory, tasks_done=aux.tasks_done + 1))

    def make_train_task(
        self, task_env, evaluator: Evaluator, num_evals: int, updates_per_eval: int,
        on_eval: Callable[[jax.Array, jax.Array], None] | None = None, multitask: bool = False,
    ) -> TaskTraining:
        """A task's training on its dataset with the online learners' contract
        (`PPO.make_train_task`): `start`, `chunk` (one eval period of `updates_per_eval`
        gradient steps, then an evaluation) and `train`, each taking `OfflineInputs` where the
        online learners take task parameters; `finish` fills the rehearsal memory."""
        del task_env
        if multitask:
            raise ConfigError("multitask", "offline learners have no multitask mode")

        def start(agent: AgentState, inputs: OfflineInputs, key: jax.Array) -> Carry:
            key, key_last = jax.random.split(key)
            last = self.consolidation_batch(inputs.data, inputs.params.task_id, key_last)
            return Carry(self.task_start(agent), key, last)

        def chunk(carry: Carry, inputs: OfflineInputs, eval_params):
            task_id = inputs.params.task_id

            def step(agent, key):
                return self.update(agent, inputs.data, task_id, key), None

            key, key_steps, key_last, key_eval = jax.random.split(carry.key, 4)
            agent, _ = jax.lax.scan(step, carry.agent, jax.random.split(key_steps,
                                                                         updates_per_eval))
            last = self.consolidation_batch(inputs.data, task_id, key_last)
            params = agent.learner.params
            no_episodes = (jnp.float32(0), jnp.int32(0))  # offline: no training episodes
            returns, diagnostics = seams.eval_point(self.spec, evaluator, self.actor(params),
                                                    params, eval_params, last, no_episodes,
                                                    key_eval, on_eval)
            return Carry(agent, key, last), (returns, diagnostics)

        def train(agent: AgentState, inputs: OfflineInputs, eval_params, key: jax.Array):
            carry = start(agent, inputs, key)
            carry, (returns, diagnostics) = jax.lax.scan(
                lambda carry, _: chunk(carry, inputs, eval_params), carry, None, num_evals)
            return carry.agent, returns, diagnostics, carry.last

        return TaskTraining(start, chunk, train, self.remember)
