"""The sweep's comparison table: every trial x agent, and the best config of each method."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from lifelong.report.tables import CI_LABEL, METRIC_LABELS, format_cell
from lifelong.sweep.spec import SweepConfig


def trial_rows(out: Path, status: dict[str, dict[str, Any]], metric: str) -> list[dict]:
    """One row per (finished trial, agent): trial id, parameters, agent, metric mean/CI."""
    rows = []
    for trial_id, entry in status.items():
        if entry["status"] != "done":
            continue
        metrics = json.loads((out / "trials" / trial_id / "metrics.json").read_text())
        for agent, values in metrics.items():
            summary = values.get(metric, {})
            rows.append({"trial": trial_id, **entry["params"], "agent": agent,
                         **{f"{metric}_{s}": float(summary.get(s, math.nan))
                            for s in ("mean", "ci_low", "ci_high")}})
    return rows


def best_rows(rows: list[dict], metric: str, mode: str, methods: list[str]) -> list[dict]:
    """The best row by the metric's mean (NaN never wins) of each method: an agent name
    and the values of the `methods` parameters."""
    best: dict[tuple, dict] = {}
    sign = 1.0 if mode == "max" else -1.0
    for row in rows:
        value = row[f"{metric}_mean"]
        if math.isnan(value):
            continue
        method = (row["agent"], *(str(row[p]) for p in methods))
        current = best.get(method)
        if current is None or sign * value > sign * current[f"{metric}_mean"]:
            best[method] = row
    return sorted(best.values(), key=lambda r: -sign * r[f"{metric}_mean"])


def _markdown(rows: list[dict], params: list[str], metric: str) -> list[str]:
    header = ["agent", *params, f"{METRIC_LABELS[metric]} [{CI_LABEL}]", "trial"]
    lines = ["| " + " | ".join(header) + " |", "|---" * (len(header) - 2) + "|---:|---|"]
    for row in rows:
        cells = [row["agent"], *(str(row[p]) for p in params), format_cell(row, metric),
                 row["trial"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def write_summary(out: Path, sweep: SweepConfig, status: dict[str, dict[str, Any]]) -> str:
    """Writes sweep.md and sweep.csv into `out`; returns the Markdown."""
    params = list(sweep.parameters)
    rows = trial_rows(out, status, sweep.metric)
    best = best_rows(rows, sweep.metric, sweep.mode, sweep.methods)
    order = "highest" if sweep.mode == "max" else "lowest"
    done = sum(e["status"] == "done" for e in status.values())
    lines = [f"## Best configuration per method ({order} {METRIC_LABELS[sweep.metric]})", "",
             *_markdown(best, params, sweep.metric), "",
             f"## All trials ({done} of {len(status)} finished)", "",
             *_markdown(rows, params, sweep.metric)]
    failed = {k: e for k, e in status.items() if e["status"] == "failed"}
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- `{k}` ({', '.join(f'{p}={v}' for p, v in e['params'].items())}), "
                  f"{e['attempts']} attempts: {e['error']}" for k, e in failed.items()]
    text = "\n".join(lines) + "\n"
    (out / "sweep.md").write_text(text)
    fields = ["trial", *params, "agent", *(f"{sweep.metric}_{s}"
                                           for s in ("mean", "ci_low", "ci_high"))]
    with open(out / "sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return text
