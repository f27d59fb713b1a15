"""The command line: a tiny study end to end, the registry listing, and bad input."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from lifelong.cli import main
from lifelong.components import COMPONENTS

TINY = ["--set", "steps_per_task=1024", "--set", "eval_every=512", "--set", "seeds=2",
        "--set", "scenario.num_tasks=2", "--set", "eval.max_steps=50", "--quiet"]


def test_run_writes_every_artifact(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for agent in ["finetune", "l2", "ewc", "multihead"]:
        assert agent in printed
        assert (out / "R" / f"{agent}.parquet").is_file()
    for name in ["config.yaml", "layout.json", "baselines.json", "metrics.json", "table.md",
                 "table.csv", "report.html", "plots/scores_over_time.png",
                 "plots/final_matrix.png"]:
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"finetune", "l2", "ewc", "multihead"}
    assert len(metrics["ewc"]["forgetting"]["per_seed"]) == 2
    assert metrics["ewc"]["wall_clock_s"] > 0
    # plasticity diagnostics at every eval point after training: 2 tasks x 2 evals x 2 seeds
    diagnostics = pq.read_table(out / "diagnostics" / "ewc.parquet")
    assert diagnostics.num_rows == 8 and {"dormant_fraction", "weight_norm/actor_0",
                                          "effective_rank/actor_1"} <= set(diagnostics.schema.names)
    last = diagnostics.column("eval_point").to_numpy() == 4
    final = diagnostics.column("weight_norm/actor_0").to_numpy()[last].mean()
    assert metrics["ewc"]["diagnostics"]["weight_norm/actor_0"] == pytest.approx(final)
    # the run folder never gets overwritten, and `report` rebuilds from the data files
    assert main(["run", *TINY, "--out", str(out)]) == 2
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()


def test_list_names_every_registered_thing(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    for name in ["cartpole-permuted", "minatar", "gymnax-params", "gymnasium", "mujoco-shift",
                 "cw10", "cw20", "ppo", "sac", "dqn", *COMPONENTS]:
        assert name in printed


@pytest.mark.parametrize("overrides, expected", [
    (["steps_per_tsk=5"], "steps_per_tsk: unknown key; did you mean 'steps_per_task'?"),
    (["seeds=abc"], "seeds: Input should be a valid integer"),
    (["scenario.name=cartpole"], "scenario.name: unknown scenario 'cartpole'; did you mean "
                                 "'cartpole-permuted'?"),
    (["learner.name=dqm"], "learner.name: unknown learner 'dqm'; did you mean 'dqn'?"),
    (["agents.ewc.components.0.name=ewk"], "agents.ewc.components.0.name: unknown component "
                                           "'ewk'; did you mean 'ewc'?"),
    (["agents.ewc.components.0.strenght=1"], "agents.ewc.components.0.strenght: unknown key; "
                                             "did you mean 'strength'?"),
    (["scenario.task_id_visible=false"], "agents.multihead.components.0: 'multihead' needs a "
                                         "visible task id"),
    (["scenario.num_tasks=0"], "scenario.num_tasks: Input should be greater than or equal to 1"),
    (["scenario={name: gymnax-params, tasks: []}"], "scenario: the scenario has zero tasks"),
    (["steps_per_task=1000", "eval_every=300"], "eval_every: must divide steps_per_task=1000"),
    (["steps_per_task=2000", "eval_every=1000"], "eval_every: must be a multiple of agent"),
    (["scenario.boundaries_visible=false"], "agents.l2.components.0: 'l2' acts at task "
                                            "boundaries"),
    (["agents={m: {multitask: true, components: [ewc]}}"],
     "agents.m.multitask: the multitask reference takes no components"),
    (["agents={m: {multitask: true}}", "scenario={name: minatar}"],
     "agents.m.multitask: scenario 'minatar' mixes environments"),
    (["agents={m: {multitask: true}}", "scenario.num_tasks=8"],
     "agents.m.learner.num_envs: multitask training runs one env per task"),
])
def test_bad_input_is_one_clear_line(overrides, expected, capsys, tmp_path):
    args = ["run", "--out", str(tmp_path / "x")]
    for item in overrides:
        args += ["--set", item]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lifelong: error: ") and expected in err and "\n" not in err
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_missing_config_file_and_no_traceback(tmp_path):
    command = [sys.executable, "-m", "lifelong.cli", "run", str(tmp_path / "no.yaml")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_report_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "lifelong: error:" in capsys.readouterr().err


@pytest.mark.parametrize("components", ["[ewc, redo]", "[packnet, nap]"])
def test_combined_components_run_from_the_cli(components, tmp_path):
    out = tmp_path / "run"
    assert main(["run", *TINY, "--set", f"agents={{combined: {{components: {components}}}}}",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["combined"]["average_performance"]["per_seed"]) == 2
