"""Every example config resolves and builds; the API example runs on a tiny budget."""

import math
import runpy
import sys
from pathlib import Path

import pytest

from lifelong import config
from lifelong.datasets import collect_config
from lifelong.datasets.collect import behaviour_options
from lifelong.runner.agent import build_agent
from lifelong.scenarios import make_scenario
from lifelong.sweep.spec import load_sweep

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_config_builds(path):
    study = config.load(path)
    options = study.scenario
    if options.name == "offline-pendulum":  # its datasets are collected: a small first task
        options = options.model_copy(update={"tasks": options.tasks[:1], "transitions": 200,
                                             "behaviour_steps": 1000})
    scenario = make_scenario(options)
    for agent in study.agents:
        build_agent(agent, scenario, study.config.steps_per_task)


def test_api_example_runs(tmp_path, monkeypatch):
    tiny = ["steps_per_task=1024", "eval_every=512", "eval.max_steps=20"]
    monkeypatch.setattr(sys, "argv", ["api.py", str(tmp_path / "run"), *tiny])
    runpy.run_path(str(EXAMPLES / "api.py"), run_name="__main__")
    assert (tmp_path / "run" / "metrics.json").is_file()


@pytest.mark.parametrize("path", sorted((EXAMPLES / "sweeps").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_example_sweep_resolves_every_trial(path):
    sweep, trials = load_sweep(path)
    assert len(trials) == math.prod(len(v) for v in sweep.parameters.values())


@pytest.mark.parametrize("path", sorted((EXAMPLES / "collect").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_example_collect_config_resolves(path):
    job = collect_config.load(path)
    scenario = make_scenario(job.scenario)
    cfg = job.config
    behaviour_options(scenario.tasks[0].env.discrete, cfg.learner, cfg.behaviour_steps,
                      cfg.evals, "medium-replay" in cfg.qualities)
