"""Config fuzzing: hundreds of randomly broken study configs (wrong types, unknown keys,
missing fields, out-of-range values, broken YAML) each give exit code 2 and one line of
error naming the field, never a traceback; the unbroken config passes `--dry-run`."""

from __future__ import annotations

import copy
import subprocess
import sys

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifelong.cli import main
from lifelong.components import COMPONENTS
from lifelong.config import AgentConfig, EvalConfig, StudyConfig
from lifelong.learners import LEARNERS
from lifelong.scenarios import SCENARIOS

VALID = {
    "scenario": {"name": "cartpole-permuted", "num_tasks": 2, "cycles": 1},
    "learner": {"name": "ppo", "num_envs": 4, "lr": 2.5e-4, "gamma": 0.99, "hidden": [64, 64]},
    "agents": {
        "finetune": {},
        "ewc": {"components": [{"name": "ewc", "strength": 100.0, "decay": 1.0}, "redo"]},
        "packnet": {"components": [{"name": "packnet"}]},
    },
    "seeds": 2,
    "steps_per_task": 4096,
    "eval_every": 2048,
    "eval": {"episodes": 4, "greedy": True, "max_steps": 200},
}

# Mappings whose keys are a fixed schema (the `agents` mapping takes any agent name).
CLOSED = [(), ("scenario",), ("learner",), ("agents", "finetune"), ("agents", "ewc"),
          ("agents", "ewc", "components", 0), ("eval",)]
REQUIRED = [("agents",), ("scenario", "name"), ("learner", "name"),
            ("agents", "ewc", "components", 0, "name")]
OUT_OF_RANGE = {
    ("seeds",): [0, -3], ("steps_per_task",): [0, -4096], ("eval_every",): [0, 3000],
    ("eval", "episodes"): [0], ("eval", "max_steps"): [0, -1],
    ("scenario", "num_tasks"): [0, -2], ("scenario", "cycles"): [0],
    ("learner", "num_envs"): [0], ("learner", "lr"): [0.0, -1e-3, float("nan")],
    ("learner", "gamma"): [0.0, 1.5], ("learner", "hidden"): [[]],
    ("agents", "ewc", "components", 0, "strength"): [-1.0, float("nan")],
    ("agents", "ewc", "components", 0, "decay"): [1.5, -0.5],
}


def _leaves(node, path=()):
    """Every path in the config: mappings, lists and scalars."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))


PATHS = [p for p in _leaves(VALID) if p]
# Every option name any schema knows: an "unknown key" must be unknown everywhere.
KNOWN = {field for model in [StudyConfig, AgentConfig, EvalConfig,
                             *(entry.options for registry in (COMPONENTS, LEARNERS, SCENARIOS)
                               for entry in registry.values())]
         for field in model.model_fields}


def _get(data, path):
    for key in path:
        data = data[key]
    return data


def _wrong_type(value):
    """A value of a type the field cannot take (a scalar becomes a list, a container a
    scalar of the wrong kind)."""
    if isinstance(value, dict | list):
        return st.sampled_from([17, "text", 3.5] if isinstance(value, dict) else [17, 3.5])
    if isinstance(value, bool):
        return st.sampled_from([[True], {"x": 1}, "sometimes"])
    return st.sampled_from([[value], {"value": value}])


@st.composite
def broken_configs(draw):
    data = copy.deepcopy(VALID)
    kind = draw(st.sampled_from(["unknown key", "wrong type", "missing", "out of range"]))
    if kind == "unknown key":
        parent = _get(data, draw(st.sampled_from(CLOSED)))
        key = draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
                   .filter(lambda k: k not in KNOWN))
        parent[key] = draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
    elif kind == "wrong type":
        path = draw(st.sampled_from(PATHS))
        _get(data, path[:-1])[path[-1]] = draw(_wrong_type(_get(data, path)))
    elif kind == "missing":
        path = draw(st.sampled_from(REQUIRED))
        del _get(data, path[:-1])[path[-1]]
    else:
        path = draw(st.sampled_from(list(OUT_OF_RANGE)))
        _get(data, path[:-1])[path[-1]] = draw(st.sampled_from(OUT_OF_RANGE[path]))
    return kind, data


def _dry_run(tmp_path, data, capsys) -> tuple[int, str]:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data)
    code = main(["run", str(path), "--dry-run"])
    return code, capsys.readouterr().err


def test_valid_config_passes_dry_run(tmp_path, capsys):
    code, err = _dry_run(tmp_path, VALID, capsys)
    assert code == 0, err


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=broken_configs())
def test_broken_config_is_one_line_exit_2(tmp_path, capsys, case):
    kind, data = case
    code, err = _dry_run(tmp_path, data, capsys)
    assert code == 2, (kind, data)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lifelong: error: "), (kind, err)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.sampled_from([
    "scenario: [unclosed", "agents: {a: {}", "!!python/object/apply:os.system ['echo']",
    "agents: !!python/name:os.system {}", "- a list\n- not a mapping", "just text",
    "agents:\n  a: {}\n bad_indent: 1", "\t tab: 1",
]) | st.text(max_size=40))
def test_broken_yaml_is_one_line_exit_2(tmp_path, capsys, text):
    code, err = _dry_run(tmp_path, text, capsys)
    assert code == 2, text
    assert len(err.strip().splitlines()) == 1, err


def test_broken_set_override_is_one_line_exit_2(capsys):
    for override in ["seeds=[", "seeds", "=3", "agents.x.components.5=ewc", "seeds=abc"]:
        assert main(["run", "--set", override, "--dry-run"]) == 2, override
        assert len(capsys.readouterr().err.strip().splitlines()) == 1, override


def test_cli_error_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "lifelong.cli", "run", "--set", "seeds=-1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("lifelong: error: seeds: Input should be greater than or "
                                   "equal to 1 (got -1)")
