"""Agent comparison tables: Markdown for people, CSV for scripts."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from lifelong.evaluation.metrics import METRIC_NAMES
from lifelong.report.run_folder import RunData

# Short column labels for every metric, in display order.
METRIC_LABELS: dict[str, str] = {
    "average_performance": "performance",
    "forgetting": "forgetting",
    "max_forgetting": "max forgetting",
    "backward_transfer": "backward transfer",
    "forward_transfer": "forward transfer",
    "forward_transfer_gap": "forward transfer (AUC gap)",
    "average_incremental_performance": "incremental performance",
}
# The three headline metrics of the Markdown table (as in Continual World).
HEADLINE = ("average_performance", "forgetting", "forward_transfer")
_STATS = ("mean", "ci_low", "ci_high")
CI_LABEL = "90% CI"


def comparison_table(run: RunData) -> list[dict]:
    """One flat row per agent: ``agent`` plus ``<metric>_<mean|ci_low|ci_high>`` floats.

    Metrics absent from metrics.json come out as NaN.
    """
    rows = []
    for agent in run.agents:
        row: dict = {"agent": agent}
        for name in METRIC_NAMES:
            summary = run.metrics[agent].get(name, {})
            for stat in _STATS:
                row[f"{name}_{stat}"] = float(summary.get(stat, math.nan))
        rows.append(row)
    return rows


def format_number(value: float) -> str:
    """Two decimals, without the "-0.00" that rounding tiny negatives would print."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if round(value, 2) != 0 else "0.00"


def format_cell(row: dict, metric: str) -> str:
    """``mean [low, high]`` with 2 decimals, e.g. ``0.61 [0.55, 0.66]``."""
    mean, low, high = (row[f"{metric}_{stat}"] for stat in _STATS)
    if math.isnan(mean):
        return "n/a"
    return f"{format_number(mean)} [{format_number(low)}, {format_number(high)}]"


def format_table(run: RunData) -> str:
    """Markdown table: agent | performance | forgetting | forward transfer, each with its CI."""
    header = ["agent"] + [f"{METRIC_LABELS[m]} [{CI_LABEL}]" for m in HEADLINE]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(HEADLINE) + "|"]
    for row in comparison_table(run):
        cells = [row["agent"]] + [format_cell(row, m) for m in HEADLINE]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_tables(run: RunData, run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``table.md`` and ``table.csv`` into ``run_dir``; returns both paths."""
    run_dir = Path(run_dir)
    md_path = run_dir / "table.md"
    md_path.write_text(format_table(run))
    csv_path = run_dir / "table.csv"
    rows = comparison_table(run)
    fields = ["agent"] + [f"{m}_{s}" for m in METRIC_NAMES for s in _STATS]
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return md_path, csv_path
