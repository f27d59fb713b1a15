"""A CW10 smoke study end to end: SAC with fine-tuning and PackNet on Meta-World v3, one
seed, a tiny budget; the run folder, its success-rate scores and the report are written."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from lifelong import config
from lifelong.report import write_report
from lifelong.runner.study import run_study

pytest.importorskip("metaworld")

SMOKE = ["scenario={name: cw10}", "learner={name: sac, hidden: [32, 32], buffer_size: 1000, "
         "batch_size: 32, random_steps: 100, learning_starts: 100}",
         "agents={finetune: {components: [multihead]}, "
         "packnet: {components: [multihead, packnet]}}",
         "seeds=1", "steps_per_task=200", "eval_every=200", "eval.episodes=1",
         "eval.max_steps=10"]


def test_cw10_smoke_study_writes_success_rates_and_the_report(tmp_path):
    run = run_study(config.load(None, SMOKE), tmp_path / "run", progress=False)
    write_report(run)
    assert (run / "report.html").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) == {"finetune", "packnet"}
    baselines = json.loads((run / "baselines.json").read_text())
    assert len(baselines) == 10
    # Success rates are scores as they are: not normalized by a random policy.
    assert all(b["random"] == 0.0 and b["reference"] == 1.0 for b in baselines.values())
    table = pq.read_table(run / "R" / "finetune.parquet").to_pandas()
    assert len(table) == (1 + 10) * 10  # eval points x eval tasks, one seed
    np.testing.assert_array_equal(table["score"], table["return"])
    assert set(np.unique(table["return"])) <= {0.0, 1.0}  # one episode: failed or succeeded
