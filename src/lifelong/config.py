"""Typed study configuration: YAML + `--set` overrides -> a validated, fully resolved study.

Validation happens in two stages: the study's own fields (`StudyConfig`), then the parts
whose schema depends on a registered name (scenario, learner and component options). Every
problem becomes one `ConfigError` naming the dotted field and the fix.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifelong.components import COMPONENTS, ComponentOptions
from lifelong.errors import ConfigError
from lifelong.learners import LEARNERS
from lifelong.scenarios import SCENARIOS, ScenarioOptions

DEFAULT_STUDY = Path(__file__).parent / "defaults" / "study.yaml"


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    episodes: int = Field(8, ge=1, description="Parallel evaluation episodes per task.")
    greedy: bool = Field(False, description="Act with the policy's mode instead of sampling.")
    max_steps: int | None = Field(None, ge=1, description="Cap on evaluation episode length.")


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner: dict[str, Any] | None = Field(None, description="Overrides the study's learner.")
    components: list[str | dict[str, Any]] = Field([], description="Components, in order.")
    multitask: bool = Field(False, description="Train on all tasks at once (the upper-bound "
                            "reference); takes no components.")


class StudyConfig(BaseModel):
    """A study: one scenario, several agents, several seeds."""

    model_config = ConfigDict(extra="forbid")

    scenario: dict[str, Any]
    learner: dict[str, Any] = Field({"name": "ppo"}, description="Learner shared by agents.")
    agents: dict[str, AgentConfig] = Field(min_length=1)
    seeds: int = Field(3, ge=1, description="Independent seeds, trained as one vmapped batch.")
    seed: int = Field(0, description="Base PRNG seed.")
    steps_per_task: int = Field(204_800, ge=1, description="Environment steps per task.")
    eval_every: int = Field(20_480, ge=1, description="Evaluate every this many steps.")
    eval: EvalConfig = EvalConfig()
    checkpoint_minutes: float = Field(
        10.0, gt=0, description="Also checkpoint inside a task after an eval period that ends "
        "this many minutes after the last checkpoint (one is always written at task end).")
    loggers: list[Literal["tensorboard", "wandb", "l2logger"]] = Field(
        [], description="Extra logging backends (Parquet files are always written).")


class Agent(BaseModel):
    name: str
    learner: BaseModel
    components: list[ComponentOptions]
    multitask: bool = False


class Study(BaseModel):
    """The resolved study: every option typed and defaulted."""

    config: StudyConfig
    scenario: ScenarioOptions
    learner: BaseModel
    agents: list[Agent]

    def dump(self) -> dict[str, Any]:
        """Resolved config with every default filled in (what a run folder records)."""
        data = self.config.model_dump()
        data["scenario"] = self.scenario.model_dump()
        data["learner"] = self.learner.model_dump()
        data["agents"] = {
            a.name: {"learner": a.learner.model_dump(),
                     "components": [c.model_dump() for c in a.components],
                     "multitask": a.multitask}
            for a in self.agents
        }
        return data


def _raise_from(error: ValidationError, prefix: str, model: type[BaseModel]) -> None:
    first = error.errors()[0]
    path = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "") or "config"
    if first["type"] == "extra_forbidden":
        known = list(model.model_fields)
        key = str(first["loc"][-1])
        guess = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known keys: {', '.join(known)}"
        raise ConfigError(path, f"unknown key; {hint}") from None
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    message = first["msg"].removeprefix("Value error, ")  # a model validator's own text
    raise ConfigError(path, f"{message}{shown}") from None


def validate_model(model: type[BaseModel], data: Any, prefix: str) -> BaseModel:
    """`model` validated from `data`; raises `ConfigError` naming `prefix`.field."""
    if not isinstance(data, dict):
        raise ConfigError(prefix, f"expected a mapping, got {data!r}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        _raise_from(error, prefix, model)


def _named(registry: dict, data: Any, field: str, kind: str) -> tuple[type[BaseModel], dict]:
    data = {"name": data} if isinstance(data, str) else data
    if not isinstance(data, dict) or "name" not in data:
        raise ConfigError(field, f"give the {kind} as a name or a mapping with a 'name' key")
    name = data["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{field}.name", f"expected a {kind} name, got {name!r}; see "
                          "`lifelong list`")
    if name not in registry:
        guess = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else "see `lifelong list`"
        raise ConfigError(f"{field}.name", f"unknown {kind} {name!r}; {hint}")
    return registry[name].options, data


def named_options(registry: dict, data: Any, field: str, kind: str) -> BaseModel:
    """The validated options of a registered `kind` given as a name or as a mapping with a
    `name` key (e.g. a scenario); raises `ConfigError` naming `field`."""
    model, raw = _named(registry, data, field, kind)
    return validate_model(model, raw, field)


def resolve(data: Any) -> Study:
    """Validates a raw study mapping into a `Study`; raises `ConfigError`."""
    config = validate_model(StudyConfig, data, "")
    scenario = named_options(SCENARIOS, config.scenario, "scenario", "scenario")
    learner_model, learner = _named(LEARNERS, config.learner, "learner", "learner")
    agents = []
    for name, agent in config.agents.items():
        prefix = f"agents.{name}"
        if agent.learner is None:
            agent_learner = validate_model(learner_model, learner, "learner")
        else:
            model, raw = _named(LEARNERS, agent.learner, f"{prefix}.learner", "learner")
            agent_learner = validate_model(model, raw, f"{prefix}.learner")
        components = []
        for i, entry in enumerate(agent.components):
            components.append(named_options(COMPONENTS, entry, f"{prefix}.components.{i}",
                                            "component"))
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ConfigError(f"{prefix}.components", "a component is listed twice; keep one")
        if agent.multitask and components:
            raise ConfigError(f"{prefix}.multitask", "the multitask reference takes no "
                              "components; remove them or make it a separate agent")
        agents.append(Agent(name=name, learner=agent_learner, components=components,
                            multitask=agent.multitask))
    study = Study(config=config, scenario=scenario,
                  learner=validate_model(learner_model, learner, "learner"), agents=agents)
    _check_budget(study)
    return study


def _check_budget(study: Study) -> None:
    config = study.config
    if config.steps_per_task % config.eval_every:
        raise ConfigError("eval_every", f"must divide steps_per_task={config.steps_per_task}; "
                          f"e.g. eval_every: {config.steps_per_task // 10 or 1}")
    for agent in [*study.agents]:
        per_update = agent.learner.steps_per_update
        if config.eval_every % per_update:
            raise ConfigError(
                "eval_every", f"must be a multiple of agent {agent.name!r}'s steps per update "
                f"({_per_update_text(agent.learner)} = {per_update}); e.g. eval_every: "
                f"{max(1, round(config.eval_every / per_update)) * per_update}")
        minibatches = getattr(agent.learner, "num_minibatches", 1)  # PPO's
        if per_update % minibatches:
            raise ConfigError(f"agents.{agent.name}.learner.num_minibatches",
                              f"must divide num_envs x num_steps = {per_update}")


def _per_update_text(learner: BaseModel) -> str:
    return "num_envs x num_steps" if hasattr(learner, "num_steps") else "num_envs x train_every"


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Sets `a.b.0.c = value` in nested dicts/lists, creating mappings as needed."""
    keys = dotted.split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(".".join(keys[: i + 1]), f"no list entry {key}; "
                                  f"the list has {len(node)} entries")
            key = int(key)
        elif not isinstance(node, dict):
            raise ConfigError(".".join(keys[:i]), "is not a mapping; cannot set a key in it")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(key), dict | list):
                node[key] = {}
            node = node[key]


def load(path: str | Path | None, overrides: list[str] = ()) -> Study:
    """Reads a study YAML (the embedded default when `path` is None) and applies overrides."""
    return resolve(read(path if path is not None else DEFAULT_STUDY, overrides))


def read(path: str | Path, overrides: list[str] = (), model: type[BaseModel] = StudyConfig,
         kind: str = "study") -> dict[str, Any]:
    """The raw mapping of a `kind` YAML file with `--set` overrides applied (not validated;
    `model` gives the defaults an override starts from, see `override`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("CONFIG", f"no such file {str(path)!r}; give a {kind} YAML file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError("CONFIG", f"{path} is not valid YAML: {error}") from None
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError("--set", f"expected key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key.strip()}", f"{raw!r} is not a YAML value; quote "
                              "strings and close brackets") from None
        override(data, key.strip(), value, model)
    return data


def override(data: dict[str, Any], dotted: str, value: Any,
             model: type[BaseModel] = StudyConfig) -> None:
    """`set_path`, where a missing top-level mapping starts from its default in `model`, so
    that `learner.lr=1e-3` keeps the default learner's name."""
    top = dotted.split(".")[0]
    field = model.model_fields.get(top)
    if (isinstance(data, dict) and top not in data and field is not None
            and isinstance(field.default, dict) and dotted != top):
        data[top] = dict(field.default)
    set_path(data, dotted, value)
