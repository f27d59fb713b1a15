"""The l2logger log format (v1.1), which DARPA L2M's l2metrics reads.

One lifetime per agent and seed: `l2logger/<agent>-seed<i>/` holds `logger_info.json`,
`scenario_info.json` and `worker-0/<block_num>-<train|test>/data-log.tsv`. Eval point 0 is
test block 0 (one experience per eval task); every later eval point i is a train block
2i-1 (one experience: the mean return of the training episodes that ended in that eval
period, `incomplete` if none did) followed by test block 2i (one experience per eval task:
the mean evaluation return, and our normalized score as an extra column). All blocks are
`wake`. Block and experience numbers follow from the eval point alone, and each block file
is written whole, so a resumed run rewrites rather than duplicates.

We write the TSV files ourselves: l2logger's `DataLogger` names each lifetime folder with a
timestamp, so a resumed run would start a second lifetime. Its validator
(`python -m l2logger.validate`) checks our output in the tests.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from lifelong.atomic import atomic_write
from lifelong.loggers.record import EvalRecord

FIELDS = ["block_num", "exp_num", "worker_id", "block_type", "block_subtype", "task_name",
          "task_params", "exp_status", "timestamp", "reward", "score"]
WORKER = "worker-0"


def l2_task_name(name: str) -> str:
    """`<tasklabel>_<variantlabel>` with alphanumeric labels: `cartpole-3` -> `cartpole_3`."""
    label, _, variant = name.rpartition("-")
    if not label:
        label, variant = variant, "default"
    clean = [re.sub(r"[^0-9a-zA-Z]", "", part) or "task" for part in (label, variant)]
    return "_".join(clean)


class L2Logger:
    def __init__(self, root: Path, scenario: str):
        self._root, self._scenario = root, scenario

    def _lifetime(self, agent: str, seed: int) -> Path:
        path = self._root / f"{agent}-seed{seed}"
        if not (path / "logger_info.json").is_file():
            path.mkdir(parents=True, exist_ok=True)
            (path / "logger_info.json").write_text(json.dumps(
                {"metrics_columns": ["reward"], "log_format_version": "1.1"}, indent=2))
            kind = "permuted" if "permuted" in self._scenario else "custom"
            (path / "scenario_info.json").write_text(json.dumps(
                {"author": "lifelong", "scenario": self._scenario, "scenario_type": kind,
                 "complexity": "2-intermediate", "difficulty": "2-medium"}, indent=2))
        return path

    def log(self, record: EvalRecord) -> None:
        tasks = len(record.eval_tasks)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S.%f")
        train_returns = record.diagnostics.get("train_return")
        for seed in range(record.returns.shape[0]):
            lifetime = self._lifetime(record.agent, seed)
            for i, point in enumerate(int(p) for p in record.points):
                params = json.dumps({"stream_position": record.position,
                                     "env_step": int(record.steps[i])})
                row = {"worker_id": WORKER, "block_subtype": "wake", "task_params": params,
                       "timestamp": stamp}
                first_exp = tasks + (point - 1) * (1 + tasks)  # exps before this point
                if point > 0:
                    value = math.nan if train_returns is None else train_returns[seed, i]
                    done = not math.isnan(value)
                    self._block(lifetime, 2 * point - 1, "train", [{
                        **row, "exp_num": first_exp, "task_name": l2_task_name(record.task),
                        "exp_status": "complete" if done else "incomplete",
                        "reward": float(value) if done else "", "score": ""}])
                test_exp = 0 if point == 0 else first_exp + 1
                self._block(lifetime, 2 * point, "test", [{
                    **row, "exp_num": test_exp + j, "task_name": l2_task_name(task),
                    "exp_status": "complete", "reward": float(record.returns[seed, i, j]),
                    "score": float(record.scores[seed, i, j])}
                    for j, task in enumerate(record.eval_tasks)])

    @staticmethod
    def _block(lifetime: Path, block: int, kind: str, rows: list[dict[str, Any]]) -> None:
        folder = lifetime / WORKER / f"{block}-{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        writer = csv.DictWriter(text, FIELDS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "block_num": block, "block_type": kind} for r in rows)
        atomic_write(folder / "data-log.tsv", text.getvalue())

    def finish_agent(self, agent: str, metrics: dict[str, Any]) -> None:
        pass  # l2metrics computes its own metrics from the log

    def close(self) -> None:
        pass
