"""`lifelong compare`: one table over several run folders, with CIs and significance marks.

Each row is an agent of a run (named `run/agent` when names repeat across runs). For each
headline metric the best row is bold, and a `*` marks rows whose difference from the best
has a 95% bootstrap CI (over seeds) that excludes zero: significantly worse than the best.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from lifelong.evaluation.metrics import difference_ci
from lifelong.report.tables import CI_LABEL, HEADLINE, METRIC_LABELS, format_number

LOWER_IS_BETTER = {"forgetting", "max_forgetting"}


def load_rows(run_dirs: list[str | Path]) -> list[dict]:
    """[{"label", "metrics"}] for every agent of every run, in the order given."""
    runs = []
    for run_dir in map(Path, run_dirs):
        path = run_dir / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: {run_dir} is not a lifelong run folder "
                                    "with at least one finished agent")
        runs.append((run_dir, json.loads(path.read_text())))
    names = [agent for _, metrics in runs for agent in metrics]
    repeated = {n for n in names if names.count(n) > 1}
    return [{"label": f"{run_dir.name}/{agent}" if agent in repeated else agent,
             "metrics": values}
            for run_dir, metrics in runs for agent, values in metrics.items()]


def _cells(rows: list[dict], metric: str) -> list[tuple[str, bool, bool]]:
    """(text, is best, significantly worse than the best) per row for one metric."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    values = [row["metrics"].get(metric) for row in rows]
    scored = [i for i, v in enumerate(values) if v and not math.isnan(v["mean"])]
    best = max(scored, key=lambda i: sign * values[i]["mean"]) if scored else None
    out = []
    for i, v in enumerate(values):
        if i not in scored:
            out.append(("n/a", False, False))
            continue
        text = (f"{format_number(v['mean'])} [{format_number(v['ci_low'])}, "
                f"{format_number(v['ci_high'])}]")
        # How much better the best is (positive: better), and its CI over seeds.
        low, high = difference_ci(values[best]["per_seed"], v["per_seed"])
        worse = i != best and min(sign * low, sign * high) > 0
        out.append((text, i == best, worse))
    return out


def compare_table(rows: list[dict], fmt: str = "md") -> str:
    """The comparison as Markdown (`md`), LaTeX (`latex`) or CSV (`csv`)."""
    columns = [_cells(rows, m) for m in HEADLINE]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["agent", *(f"{m}_{s}" for m in HEADLINE
                                    for s in ("mean", "ci_low", "ci_high", "worse_than_best"))])
        for i, row in enumerate(rows):
            cells = []
            for m, column in zip(HEADLINE, columns):
                v = row["metrics"].get(m, {})
                cells += [v.get("mean", ""), v.get("ci_low", ""), v.get("ci_high", ""),
                          column[i][2]]
            writer.writerow([row["label"], *cells])
        return buffer.getvalue()
    header = ["agent", *(f"{METRIC_LABELS[m]} [{CI_LABEL}]" for m in HEADLINE)]
    if fmt == "latex":
        def cell(text, best, worse):
            text = text.replace("[", "{[}").replace("]", "{]}")
            return (f"\\textbf{{{text}}}" if best else text) + ("$^*$" if worse else "")
        lines = ["\\begin{tabular}{l" + "r" * len(HEADLINE) + "}", "\\toprule",
                 " & ".join(h.replace("%", "\\%") for h in header) + " \\\\", "\\midrule"]
        for i, row in enumerate(rows):
            label = row["label"].replace("_", "\\_")
            lines.append(" & ".join([label, *(cell(*c[i]) for c in columns)]) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(HEADLINE) + "|"]
    for i, row in enumerate(rows):
        cells = [(f"**{t}**" if best else t) + (" *" if worse else "")
                 for t, best, worse in (c[i] for c in columns)]
        lines.append("| " + " | ".join([row["label"], *cells]) + " |")
    lines.append("\nBold: best. *: worse than the best (95% bootstrap CI of the difference "
                 "over seeds excludes 0).")
    return "\n".join(lines) + "\n"
