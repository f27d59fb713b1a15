"""The continual offline RL table: OER and its baselines on the offline Pendulum stream
(examples/offline_pendulum.yaml), with OER's two ablations.

One study (every method, N seeds, the same keys, the same locally generated datasets): TD3+BC
fine-tuning, random-selection experience replay (`er`), EWC, A-GEM, OER (model-based
experience selection + dual behaviour cloning), and the ablations `oer-random` (dual cloning
with random selection) and `er-mbes` (MBES without dual cloning). Every replay method keeps
`replay_per_task` transitions per finished task. It prints and writes a markdown table of
final average performance and forgetting (Minari normalized scores, 90% bootstrap CIs) and
each method's wall-clock. A stopped run continues where it stopped when run again.

    .venv/bin/python benchmarks/offline.py                          # the example's budget
    .venv/bin/python benchmarks/offline.py --seeds 3 --steps-per-task 4000 --quality expert
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import yaml  # noqa: E402

from lifelong import config  # noqa: E402
from lifelong.report.tables import format_cell  # noqa: E402
from lifelong.runner.study import resume_study, run_study  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "offline_pendulum.yaml"
ABOUT = {
    "finetune": "TD3+BC, no memory", "er": "replay, random selection",
    "ewc": "regularization", "agem": "gradient projection",
    "oer": "MBES + dual BC", "oer-random": "ablation: dual BC, random selection",
    "er-mbes": "ablation: MBES, no dual BC",
}


def study_data(args: argparse.Namespace) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["seeds"] = args.seeds
    data["scenario"]["quality"] = args.quality
    if args.steps_per_task:
        data["steps_per_task"] = args.steps_per_task
        data["eval_every"] = args.steps_per_task // 5
    if args.replay_per_task:
        for agent in data["agents"].values():
            learner = agent.get("learner", {})
            if learner.get("name") == "oer" or "replay_per_task" in learner:
                learner["replay_per_task"] = args.replay_per_task
    return data


def table(run_dir: Path) -> str:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    lines = ["| method | what | performance [90% CI] | forgetting [90% CI] | wall-clock (s) |",
             "|---|---|---:|---:|---:|"]
    for agent, values in metrics.items():
        row = {f"{name}_{stat}": values[name][stat]
               for name in ("average_performance", "forgetting")
               for stat in ("mean", "ci_low", "ci_high")}
        lines.append(f"| {agent} | {ABOUT.get(agent, '')} | "
                     f"{format_cell(row, 'average_performance')} | "
                     f"{format_cell(row, 'forgetting')} | {values['wall_clock_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quality", default="medium", help="dataset quality of every task")
    parser.add_argument("--steps-per-task", type=int, help="gradient steps per task "
                        "(default: the example's)")
    parser.add_argument("--replay-per-task", type=int, help="memory per finished task "
                        "(default: the example's 1000)")
    parser.add_argument("--out", default="runs/bench-offline")
    args = parser.parse_args()
    study = config.resolve(study_data(args))
    run_dir = Path(args.out)
    print(f"== offline Pendulum ({args.quality}): {len(study.agents)} methods x {args.seeds} "
          "seeds ==", flush=True)
    if (run_dir / "config.yaml").exists():
        if config.load(run_dir / "config.yaml").dump() != study.dump():
            raise SystemExit(f"{run_dir} holds a run with other settings; remove it or pass "
                             "--out")
        resume_study(run_dir)
    else:
        run_study(study, run_dir)
    text = table(run_dir)
    (run_dir / "offline.md").write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
