"""`lifelong compare`: one table over run folders, best in bold, significance marks."""

from __future__ import annotations

import csv
import io
import json

from lifelong.cli import main
from lifelong.evaluation.metrics import bootstrap_ci


def _summary(per_seed: list[float]) -> dict:
    mean, low, high = bootstrap_ci(per_seed)
    return {"mean": mean, "ci_low": low, "ci_high": high, "per_seed": per_seed}


def _run(path, agents: dict[str, tuple[list[float], list[float], list[float]]]):
    path.mkdir()
    metrics = {name: {"average_performance": _summary(p), "forgetting": _summary(f),
                      "forward_transfer": _summary(t)} for name, (p, f, t) in agents.items()}
    (path / "metrics.json").write_text(json.dumps(metrics))
    return str(path)


def _runs(tmp_path):
    flat = [0.0, 0.01, -0.01, 0.0]
    a = _run(tmp_path / "a", {
        "finetune": ([0.20, 0.22, 0.18, 0.20], [0.80, 0.82, 0.78, 0.80], flat),
        "ewc": ([0.50, 0.52, 0.48, 0.50], [0.10, 0.12, 0.08, 0.10], flat)})
    b = _run(tmp_path / "b", {"finetune": ([0.49, 0.53, 0.47, 0.51], [0.12, 0.10, 0.10, 0.08],
                                           flat)})
    return a, b


def test_markdown_marks_best_and_significantly_worse(tmp_path, capsys):
    assert main(["compare", *_runs(tmp_path)]) == 0
    rows = {line.split(" | ")[0].strip("| "): line for line in
            capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert set(rows) == {"agent", "a/finetune", "ewc", "b/finetune"}
    assert "| **0.50 [" in rows["ewc"]  # best performance
    assert "**0.10 [" in rows["ewc"]  # lowest forgetting is best
    assert rows["a/finetune"].count("] *") == 2  # worse on performance and forgetting
    assert "] *" not in rows["b/finetune"]  # within noise of the best


def test_latex_and_csv(tmp_path, capsys):
    runs = _runs(tmp_path)
    assert main(["compare", *runs, "--format", "latex", "--out", str(tmp_path / "t.tex")]) == 0
    latex = (tmp_path / "t.tex").read_text()
    assert latex.startswith("\\begin{tabular}") and "\\textbf{0.50 {[}" in latex
    assert "a/finetune & 0.20 {[}" in latex and "$^*$" in latex
    capsys.readouterr()
    assert main(["compare", *runs, "--format", "csv"]) == 0
    rows = {r["agent"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["a/finetune"]["average_performance_worse_than_best"] == "True"
    assert rows["b/finetune"]["average_performance_worse_than_best"] == "False"
    assert float(rows["ewc"]["average_performance_mean"]) == 0.5


def test_missing_run_folder_is_exit_2(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope")]) == 2
    assert "not a lifelong run folder" in capsys.readouterr().err
