"""The evaluator of host-stepped (Gymnasium) tasks: episodes stepped in Python, the policy
jitted and vmapped over seeds.

Each eval task has one vector env of seeds x episodes copies (built once: `HostEnv.vector`).
Every copy plays one episode, up to the task's step limit (or `max_steps`); the score of an
episode is its return, or for envs that report success (Meta-World) whether it succeeded at
any step, as Continual World counts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

from lifelong.envs.host_env import HostEnv
from lifelong.envs.task_env import TaskParams
from lifelong.evaluation.rollout import Actor

_COMPILED: dict[tuple[int, bool], tuple] = {}  # (id(learner), greedy) -> (learner, act)


@dataclass
class HostEvaluator:
    tasks: tuple[tuple[HostEnv, TaskParams], ...]  # per eval task
    episodes: int
    greedy: bool
    max_steps: int | None = None
    host_stepped: bool = True

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    def _act(self, actor_of: Callable[[object], Actor]):
        # Keyed by the learner a bound `actor` method belongs to (learners are not hashable),
        # shared by every evaluator (a study has one per reference run).
        owner = getattr(actor_of, "__self__", actor_of)
        if (id(owner), self.greedy) not in _COMPILED:
            greedy = self.greedy
            _COMPILED[id(owner), self.greedy] = (owner, jax.jit(jax.vmap(
                lambda params, obs, task_id, key: actor_of(params)(obs, task_id, key, greedy),
                in_axes=(0, 0, None, 0))))
        return _COMPILED[id(owner), self.greedy][1]

    def __call__(self, actor_of: Callable[[object], Actor], params, keys: jax.Array
                 ) -> np.ndarray:
        """[seeds, eval_tasks] mean episode score of the policies `actor_of(params[i])`
        (`params` with a leading seed axis, one PRNG key per seed)."""
        act = self._act(actor_of)
        seeds, episodes = keys.shape[0], self.episodes
        scores = np.zeros((seeds, self.num_tasks))
        task_keys = jax.vmap(lambda k: jax.random.split(k, self.num_tasks))(keys)
        for j, (env, task_params) in enumerate(self.tasks):
            vector = env.vector(seeds * episodes, role="eval")
            limit = min(env.max_episode_steps, self.max_steps or env.max_episode_steps)
            step_keys = jax.vmap(lambda k, n=limit + 1: jax.random.split(k, n))(task_keys[:, j])
            obs = vector.reset(seed=int(jax.random.randint(step_keys[0, limit], (), 0, 2**30)))
            total = np.zeros(seeds * episodes)
            success = np.zeros(seeds * episodes)
            ended = np.zeros(seeds * episodes, bool)
            for t in range(limit):
                actions = act(params, obs.reshape(seeds, episodes, -1), task_params.task_id,
                              step_keys[:, t])
                actions = np.asarray(actions).reshape(seeds * episodes, *actions.shape[2:])
                step = vector.step(env.env_actions(actions))
                live = ~ended & step.valid
                total += np.where(live, step.reward, 0.0)
                success = np.maximum(success, np.where(live, step.success, 0.0))
                ended |= live & (step.terminated | step.truncated)
                obs = step.obs
                if ended.all():
                    break
            score = success if env.success else total
            scores[:, j] = score.reshape(seeds, episodes).mean(axis=1)
        return scores
