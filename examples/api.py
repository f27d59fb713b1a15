"""The Python API: a two-agent study on a two-task stream, then its table.

Usage: python examples/api.py [RUN_DIR] [KEY=VALUE ...]  (extra overrides, e.g. seeds=5)
"""

import sys

import lifelong
from lifelong.report import format_table, load_run, write_report

out = sys.argv[1] if len(sys.argv) > 1 else "runs/api-example"
study = lifelong.load(None, ["scenario.num_tasks=2", "seeds=2", "steps_per_task=51200",
                             "eval_every=10240", "agents={finetune: {}, ewc: {components: [ewc]}}",
                             *sys.argv[2:]])
run_dir = lifelong.run_study(study, out)
write_report(run_dir)
print(format_table(load_run(run_dir)))
