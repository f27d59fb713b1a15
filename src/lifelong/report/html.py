"""Self-contained interactive ``report.html``: inline CSS, plotly.js embedded once, one inline
figure per section; it opens offline and fetches nothing.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

from lifelong.atomic import atomic_write
from lifelong.evaluation.metrics import METRIC_NAMES
from lifelong.report.interactive import figures
from lifelong.report.run_folder import RunData
from lifelong.report.tables import CI_LABEL, METRIC_LABELS, comparison_table, format_cell

# One-line definitions shown under the tables; a[k, j] = score on task j after position k.
METRIC_DEFINITIONS: dict[str, str] = {
    "average_performance": "Mean normalized score over all eval tasks at the end of the stream.",
    "forgetting": (
        "Mean over tasks trained before the last position of a[own(j), j] - a[last, j]: score "
        "lost since the task was last trained (Continual World). Higher is worse."
    ),
    "max_forgetting": (
        "Like forgetting but from the best score since the task was first trained, so drops "
        "that a later revisit partly recovered still count. Higher is worse."
    ),
    "backward_transfer": (
        "a[last, j] - a[own(j), j] over the same tasks (GEM form): positive when later training "
        "improved earlier tasks."
    ),
    "forward_transfer": (
        "Normalized area under the score curve of each training window versus the single-task "
        "reference, (AUC - AUC_ref) / (1 - AUC_ref) (Continual World). Positive when earlier "
        "tasks made learning faster."
    ),
    "forward_transfer_gap": (
        "The same without normalization, AUC - AUC_ref (Continual World's un-normalized ft); "
        "stable when the reference learns its task almost at once (AUC_ref near 1)."
    ),
    "average_incremental_performance": (
        "Mean over stream positions of the average score on the eval tasks seen so far."
    ),
}

_CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif;
       margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d8dde6; }
.muted { color: #667085; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #d8dde6; padding: 0.3rem 0.6rem; }
th { background: #f3f5f9; text-align: center; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
ol.stream { columns: 3; font-size: 0.9rem; }
.figure { margin: 1rem 0; border: 1px solid #e4e7ec; }
dt { font-weight: 600; margin-top: 0.5rem; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
"""


def _comparison_html(run: RunData) -> str:
    header = "".join(f"<th>{escape(METRIC_LABELS[m])}</th>" for m in METRIC_NAMES)
    body = []
    for row in comparison_table(run):
        cells = "".join(f'<td class="num">{escape(format_cell(row, m))}</td>' for m in METRIC_NAMES)
        body.append(f"<tr><td>{escape(row['agent'])}</td>{cells}</tr>")
    return (
        f'<table class="comparison"><thead><tr><th>agent</th>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
        f'<p class="muted">Mean over seeds [{CI_LABEL}, percentile bootstrap over seeds].</p>'
    )


def _baselines_html(run: RunData) -> str:
    rows = []
    for task in run.layout.eval_tasks:
        base = run.baselines.get(task, {})
        cells = "".join(
            f'<td class="num">{base[key]:.2f}</td>' if key in base else '<td class="num">n/a</td>'
            for key in ("random", "reference", "reference_auc")
        )
        rows.append(f"<tr><td>{escape(task)}</td>{cells}</tr>")
    return (
        "<table><thead><tr><th>eval task</th><th>random return</th><th>reference return</th>"
        f"<th>reference AUC (normalized)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<p class="muted">Scores are normalized per task: (return - random) / '
        "(reference - random).</p>"
    )


def _stream_html(run: RunData) -> str:
    layout = run.layout
    items = []
    for task, j in zip(layout.stream_tasks, layout.stream.stream_to_eval, strict=True):
        note = "" if j >= 0 else ' <span class="muted">(not evaluated)</span>'
        items.append(f"<li>{escape(task)}{note}</li>")
    seeds = sorted({len(s) for s in run.seeds.values()})
    return (
        f"<p>{len(layout.stream_tasks)} stream positions &times; {layout.steps_per_task:,} "
        f"environment steps, {layout.num_eval_points} evaluation points on "
        f"{len(layout.eval_tasks)} eval tasks, {'/'.join(map(str, seeds))} seed(s) per agent.</p>"
        f'<ol class="stream">{"".join(items)}</ol>'
    )


# Plotly's mode bar without the link to plotly's website and with PNG export at 2x.
_PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def _figure_html(index: int, figure) -> str:
    div = pio.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        config=_PLOT_CONFIG,
        div_id=f"figure-{index}",
    )
    return f'<div class="figure">{div}</div>'


def _definitions_html() -> str:
    items = "".join(
        f"<dt>{escape(METRIC_LABELS[m])}</dt><dd>{escape(METRIC_DEFINITIONS[m])}</dd>"
        for m in METRIC_NAMES
    )
    return (
        "<p>a[k, j] is the normalized score on eval task j after training stream position k; "
        "own(j) is the last position that trained j. Scores are 0 for a random policy and 1 for "
        f"the single-task reference.</p><dl>{items}</dl>"
    )


def write_html(run: RunData, run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` and return its path."""
    title = f"lifelong report: {run.run_dir.resolve().name}"
    sections = [
        ("Agent comparison", _comparison_html(run)),
        ("Scenario stream", _stream_html(run)),
    ]
    sections += [
        (name, _figure_html(i, figure)) for i, (name, figure) in enumerate(figures(run).items())
    ]
    sections += [
        ("Baselines", _baselines_html(run)),
        ("Metric definitions", _definitions_html()),
    ]
    if run.config_text:
        sections.append(("Resolved config", f"<pre>{escape(run.config_text)}</pre>"))
    body = "".join(f"<h2>{escape(name)}</h2>{content}" for name, content in sections)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
        f"<body><h1>{escape(title)}</h1>"
        f'<p class="muted">Agents: {escape(", ".join(run.agents))}. Figures are interactive: '
        "hover for values, drag to zoom, double-click to reset, pick an agent or diagnostic in "
        "the menu above a figure; static PNGs of the main figures are in plots/.</p>"
        f"{body}</body></html>\n"
    )
    path = Path(run_dir) / "report.html"
    atomic_write(path, page.encode("utf-8"))
    return path
