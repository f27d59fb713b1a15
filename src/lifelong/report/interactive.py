"""Interactive report figures (plotly): scores over time, task x task matrix, metric bars with
CIs and plasticity diagnostics.

Figures with one view per agent (or per diagnostic) hold every view's traces and a dropdown that
switches trace visibility, so the page needs no server and no code of its own.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from lifelong.evaluation.metrics import task_matrix
from lifelong.report.run_folder import RunData
from lifelong.report.tables import CI_LABEL, METRIC_LABELS

# Bars in the metrics figure, in display order.
BAR_METRICS = ("average_performance", "forgetting", "backward_transfer", "forward_transfer")
_WINDOW_SHADES = ("#eef1f6", "#fbf3e6")  # alternating training-window backgrounds
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"}


def _colors(n: int) -> list[str]:
    palette = qualitative.Plotly if n <= len(qualitative.Plotly) else qualitative.Dark24
    return [palette[i % len(palette)] for i in range(n)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _add_task_windows(fig: go.Figure, run: RunData) -> None:
    """Shade each stream position's training window and name its task above the plot."""
    many = len(run.layout.stream_tasks) > 8
    for k, ((start, end), task) in enumerate(
        zip(run.layout.window_bounds(), run.layout.stream_tasks, strict=True)
    ):
        fig.add_vrect(
            x0=start, x1=end, fillcolor=_WINDOW_SHADES[k % 2], line_width=0, layer="below"
        )
        fig.add_annotation(
            x=(start + end) / 2,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            text=task,
            showarrow=False,
            textangle=-30 if many else 0,
            font={"size": 10},
        )


def _dropdown(labels: list[str], groups: list[int]) -> list[dict]:
    """A dropdown with one entry per label; entry i shows the traces whose group is i."""
    buttons = [
        {
            "label": label,
            "method": "restyle",
            "args": [{"visible": [g == i for g in groups]}],
        }
        for i, label in enumerate(labels)
    ]
    return [
        {
            "buttons": buttons,
            "x": 0.0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
            "pad": {"b": 28},
            "showactive": True,
            "active": 0,
        }
    ]


def _line(x, y, name: str, color: str, visible: bool, hover: str) -> go.Scatter:
    """A curve with markers, in the legend group of its name."""
    return go.Scatter(
        x=x,
        y=y,
        mode="lines+markers",
        name=name,
        line={"color": color, "width": 2},
        marker={"size": 4},
        legendgroup=name,
        visible=visible,
        hovertemplate=hover,
    )


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.5, "xanchor": "center", "font": {"size": 15}},
        height=height,
        font=_FONT,
        template="plotly_white",
        margin={"t": 110, "l": 70, "r": 30, "b": 60},
        hovermode="x unified",
    )
    return fig


def scores_figure(run: RunData) -> go.Figure:
    """Per-agent view: each eval task's normalized score (mean, min-max band over seeds)."""
    steps = run.layout.eval_steps.astype(float)
    colors = _colors(len(run.layout.eval_tasks))
    fig, groups = go.Figure(), []
    for a, agent in enumerate(run.agents):
        scores = run.scores[agent]  # [seeds, eval_points, eval_tasks]
        for j, task in enumerate(run.layout.eval_tasks):
            band_x = np.concatenate([steps, steps[::-1]])
            band_y = np.concatenate(
                [scores[:, :, j].max(axis=0), scores[:, :, j].min(axis=0)[::-1]]
            )
            fig.add_trace(
                go.Scatter(
                    x=band_x,
                    y=band_y,
                    fill="toself",
                    fillcolor=_rgba(colors[j], 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=task,
                    visible=a == 0,
                    name=f"{task} (seed range)",
                )
            )
            fig.add_trace(
                _line(steps, scores[:, :, j].mean(axis=0), task, colors[j], a == 0, "%{y:.3f}")
            )
            groups += [a, a]
    _add_task_windows(fig, run)
    for level in (0.0, 1.0):
        fig.add_hline(y=level, line={"dash": "dash", "color": "#8a8f99", "width": 1})
    fig.update_layout(
        updatemenus=_dropdown(list(run.agents), groups), legend_title_text="eval task"
    )
    fig.update_xaxes(title_text="environment steps")
    fig.update_yaxes(title_text="normalized score (mean, band: min-max over seeds)")
    return _layout(
        fig, "Normalized score during training (shaded: training window of each task)", 520
    )


def matrix_figure(run: RunData) -> go.Figure:
    """Per-agent heatmap: score on each eval task (cols) after each stream position (rows)."""
    layout = run.layout
    matrices = [task_matrix(run.scores[agent], layout.stream).mean(axis=0) for agent in run.agents]
    low = min(0.0, float(np.min(matrices)))
    high = max(1.0, float(np.max(matrices)))
    rows = [f"{k + 1}. {task}" for k, task in enumerate(layout.stream_tasks)]
    fig = go.Figure()
    for a, (agent, matrix) in enumerate(zip(run.agents, matrices, strict=True)):
        fig.add_trace(
            go.Heatmap(
                z=matrix,
                x=list(layout.eval_tasks),
                y=rows,
                zmin=low,
                zmax=high,
                colorscale="Viridis",
                texttemplate="%{z:.2f}",
                visible=a == 0,
                name=agent,
                colorbar={"title": {"text": "score", "side": "right"}},
                hovertemplate="after %{y}<br>on %{x}: %{z:.3f}<extra></extra>",
            )
        )
    for k, j in enumerate(layout.stream.stream_to_eval):
        if j >= 0:  # outline the task being trained at this position
            fig.add_shape(
                type="rect",
                x0=j - 0.5,
                x1=j + 0.5,
                y0=k - 0.5,
                y1=k + 0.5,
                line={"color": "red", "width": 2},
            )
    fig.update_layout(updatemenus=_dropdown(list(run.agents), list(range(len(run.agents)))))
    fig.update_xaxes(title_text="evaluated task", side="bottom")
    fig.update_yaxes(title_text="after training stream position", autorange="reversed")
    fig = _layout(
        fig,
        "Score matrix after each stream position (red box: task just trained)",
        max(420, 160 + 34 * len(rows)),
    )
    fig.update_layout(hovermode="closest")
    return fig


def metrics_figure(run: RunData) -> go.Figure:
    """Horizontal bars per metric: mean over seeds per agent, error bars the bootstrap CI."""
    fig = make_subplots(
        rows=1,
        cols=len(BAR_METRICS),
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=[METRIC_LABELS[m] for m in BAR_METRICS],
    )
    colors = _colors(len(run.agents))
    agents = list(run.agents)
    for c, metric in enumerate(BAR_METRICS, start=1):
        stats = [run.metrics[agent].get(metric, {}) for agent in agents]
        mean = np.array([s.get("mean", np.nan) for s in stats], dtype=float)
        low = np.array([s.get("ci_low", np.nan) for s in stats], dtype=float)
        high = np.array([s.get("ci_high", np.nan) for s in stats], dtype=float)
        fig.add_trace(
            go.Bar(
                x=mean,
                y=agents,
                orientation="h",
                marker_color=colors,
                showlegend=False,
                name=METRIC_LABELS[metric],
                error_x={
                    "type": "data",
                    "array": high - mean,
                    "arrayminus": mean - low,
                    "color": "#3b4252",
                    "thickness": 1.2,
                },
                customdata=np.stack([low, high], axis=1),
                hovertemplate="%{y}: %{x:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                "<extra></extra>",
            ),
            row=1,
            col=c,
        )
        fig.add_vline(x=0, line={"color": "#8a8f99", "width": 1}, row=1, col=c)
    fig.update_yaxes(autorange="reversed")
    fig = _layout(
        fig,
        f"Metrics per agent (error bars: {CI_LABEL}, bootstrap over seeds)",
        max(360, 140 + 28 * len(agents)),
    )
    fig.update_layout(hovermode="closest", margin={"t": 80})
    return fig


def diagnostics_figure(run: RunData) -> go.Figure | None:
    """Per-diagnostic view: one line per agent (mean over seeds) vs env steps; None if no agent
    logged diagnostics."""
    names = sorted({name for agent in run.agents for name in run.diagnostics[agent]})
    if not names:
        return None
    steps = run.layout.eval_steps.astype(float)
    colors = _colors(len(run.agents))
    fig, groups = go.Figure(), []
    for d, name in enumerate(names):
        for a, agent in enumerate(run.agents):
            values = run.diagnostics[agent].get(name)
            if values is None:
                continue
            logged = ~np.isnan(values).all(axis=0)  # eval points with at least one seed's value
            mean = np.nanmean(values[:, logged], axis=0)
            fig.add_trace(_line(steps[logged], mean, agent, colors[a], d == 0, "%{y:.4g}"))
            groups.append(d)
    _add_task_windows(fig, run)
    fig.update_layout(updatemenus=_dropdown(names, groups), legend_title_text="agent")
    fig.update_xaxes(title_text="environment steps")
    fig.update_yaxes(title_text="value (mean over seeds)")
    return _layout(fig, "Plasticity diagnostics at each evaluation point (choose one above)", 480)


def figures(run: RunData) -> dict[str, go.Figure]:
    """Every interactive figure of the report, by section title, in display order."""
    out = {
        "Scores during training": scores_figure(run),
        "Score matrix": matrix_figure(run),
        "Forgetting and transfer": metrics_figure(run),
    }
    diagnostics = diagnostics_figure(run)
    if diagnostics is not None:
        out["Plasticity diagnostics"] = diagnostics
    return out
