"""Turn a finished run folder into tables, figures and a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

from lifelong.report.html import write_html
from lifelong.report.plots import write_plots
from lifelong.report.run_folder import RunData, load_run
from lifelong.report.tables import format_table, write_tables

__all__ = ["RunData", "format_table", "load_run", "write_report"]


def write_report(run_dir: str | Path) -> Path:
    """Write table.md, table.csv, plots/*.png and the interactive report.html into ``run_dir``;
    returns the html path."""
    run = load_run(run_dir)
    write_tables(run, run_dir)
    write_plots(run, run_dir)
    return write_html(run, run_dir)
