"""Report figures: scores over training and the per-agent task x task score matrix.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot), which renders
off-screen through Agg without touching the process-wide backend or a global figure registry, so
nothing has to be closed and an interactive session importing this module is left alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import EngFormatter

from lifelong.evaluation.metrics import task_matrix
from lifelong.report.run_folder import RunData
from lifelong.report.tables import format_number

_DPI = 120
_WINDOW_SHADES = ("#eef1f6", "#fbf3e6")  # alternating training-window backgrounds
_MATRIX_COLUMNS = 2  # heatmap panels per row before wrapping


def _task_colors(num_tasks: int) -> list:
    cmap = colormaps["tab10" if num_tasks <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(num_tasks)]


def plot_scores_over_time(run: RunData, path: str | Path) -> Path:
    """One panel per agent: each eval task's score (mean, min-max band over seeds) vs env steps."""
    layout = run.layout
    steps = layout.eval_steps  # [eval_points]
    colors = _task_colors(len(layout.eval_tasks))
    bounds = layout.window_bounds()
    fig = Figure(figsize=(11, 1.2 + 2.4 * len(run.agents)), layout="constrained")
    axes = fig.subplots(len(run.agents), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, agent in zip(axes, run.agents, strict=True):
        scores = run.scores[agent]  # [seeds, eval_points, eval_tasks]
        for k, (start, end) in enumerate(bounds):
            ax.axvspan(start, end, color=_WINDOW_SHADES[k % 2], lw=0, zorder=0)
        for level in (0.0, 1.0):
            ax.axhline(level, color="0.55", lw=0.8, ls="--", zorder=1)
        for j, task in enumerate(layout.eval_tasks):
            ax.fill_between(
                steps,
                scores[:, :, j].min(axis=0),
                scores[:, :, j].max(axis=0),
                color=colors[j],
                alpha=0.2,
                lw=0,
                zorder=2,
            )
            ax.plot(
                steps, scores[:, :, j].mean(axis=0), color=colors[j], lw=1.6, label=task, zorder=3
            )
        ax.set_title(agent, loc="left", fontsize=11, fontweight="bold")
        ax.set_ylabel("normalized score")
        ax.margins(x=0)
    top = axes[0].secondary_xaxis("top")
    top.set_xticks([(s + e) / 2 for s, e in bounds], labels=list(layout.stream_tasks))
    top.tick_params(length=0, labelsize=8, labelrotation=30 if len(bounds) > 8 else 0)
    axes[-1].set_xlabel("environment steps")
    axes[-1].xaxis.set_major_formatter(EngFormatter(sep=""))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", title="eval task", frameon=False)
    fig.suptitle("Normalized score during training (shaded: training window of each task)")
    return _save(fig, path)


def plot_final_matrix(run: RunData, path: str | Path) -> Path:
    """One heatmap per agent: score on each eval task (cols) after each stream position (rows)."""
    layout = run.layout
    matrices = {  # agent -> [K, eval_tasks], mean over seeds
        agent: task_matrix(run.scores[agent], layout.stream).mean(axis=0) for agent in run.agents
    }
    values = np.stack(list(matrices.values()))
    vmin, vmax = min(0.0, float(values.min())), max(1.0, float(values.max()))
    cols = min(len(run.agents), _MATRIX_COLUMNS)
    rows = math.ceil(len(run.agents) / cols)
    num_k, num_tasks = values.shape[1:]
    fig = Figure(
        figsize=(1.5 + cols * (1.3 + 0.75 * num_tasks), 0.6 + rows * (1.4 + 0.38 * num_k)),
        layout="constrained",
    )
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    fontsize = 8 if num_tasks * num_k <= 64 else 6
    row_labels = [f"{k + 1}. {task}" for k, task in enumerate(layout.stream_tasks)]
    image = None
    for ax, (agent, matrix) in zip(axes, matrices.items(), strict=False):
        image = ax.imshow(matrix, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        for (k, j), value in np.ndenumerate(matrix):
            shade = (value - vmin) / (vmax - vmin)
            ax.text(
                j,
                k,
                format_number(value),
                ha="center",
                va="center",
                fontsize=fontsize,
                color="black" if shade > 0.55 else "white",
            )
        for k, j in enumerate(layout.stream.stream_to_eval):
            if j >= 0:  # outline the task being trained at this position
                ax.add_patch(Rectangle((j - 0.5, k - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
        ax.set_title(agent, fontsize=11, fontweight="bold")
        ax.set_xticks(range(num_tasks), labels=list(layout.eval_tasks), rotation=30, ha="right")
        ax.set_yticks(range(num_k), labels=row_labels)
        ax.tick_params(labelsize=8)
    for ax in axes[len(run.agents) :]:
        ax.set_visible(False)
    fig.supxlabel("evaluated task", fontsize=10)
    fig.supylabel("after training stream position", fontsize=10)
    fig.colorbar(image, ax=axes.tolist(), label="normalized score (mean over seeds)", shrink=0.9)
    fig.suptitle("Score matrix after each task (red box: task just trained)")
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI)
    return path


def write_plots(run: RunData, run_dir: str | Path) -> dict[str, Path]:
    """Write every report figure under ``run_dir/plots``; returns caption -> PNG path."""
    plots = Path(run_dir) / "plots"
    return {
        "Normalized score during training": plot_scores_over_time(
            run, plots / "scores_over_time.png"
        ),
        "Score matrix after each stream position": plot_final_matrix(
            run, plots / "final_matrix.png"
        ),
    }
