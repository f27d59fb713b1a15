"""`lifelong run | report | list`: the command line."""

from __future__ import annotations

import argparse
import os
import sys


def use_all_cores() -> None:
    """Exposes every CPU core as a JAX device (before JAX starts) so seeds run in parallel."""
    flag = "--xla_force_host_platform_device_count"
    if flag not in os.environ.get("XLA_FLAGS", "") and "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}={os.cpu_count()}"


def _run(args: argparse.Namespace) -> int:
    from lifelong import config
    from lifelong.report import format_table, load_run, write_report
    from lifelong.runner.study import run_study

    study = config.load(args.config, args.set)
    run_dir = run_study(study, args.out, progress=not args.quiet)
    html = write_report(run_dir)
    print(format_table(load_run(run_dir)))
    print(f"\nrun folder: {run_dir}\nreport:     {html}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from lifelong.report import format_table, load_run, write_report

    html = write_report(args.run_dir)
    print(format_table(load_run(args.run_dir)))
    print(f"\nreport: {html}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from lifelong.components import COMPONENTS
    from lifelong.learners import LEARNERS
    from lifelong.scenarios import SCENARIOS

    table = Table("kind", "name", "description", title="lifelong registry")
    for name, entry in SCENARIOS.items():
        table.add_row("scenario", name, entry.description)
    for name, entry in LEARNERS.items():
        table.add_row("learner", name, entry.description)
    for name, entry in COMPONENTS.items():
        table.add_row(f"component ({entry.family})", name, entry.description)
    Console().print(table)
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="lifelong", description="Continual RL studies in JAX.")
    commands = main.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a study (the embedded default without CONFIG)")
    run.add_argument("config", nargs="?", help="study YAML file")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field, e.g. --set seeds=5 (repeatable)")
    run.add_argument("--out", help="run folder (default: runs/<time>-<scenario>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)
    report = commands.add_parser("report", help="rebuild tables, plots and report.html")
    report.add_argument("run_dir", help="a finished run folder")
    report.set_defaults(handler=_report)
    listing = commands.add_parser("list", help="scenarios, learners and components")
    listing.set_defaults(handler=_list)
    return main


def main(argv: list[str] | None = None) -> int:
    use_all_cores()
    args = parser().parse_args(argv)
    from lifelong.errors import ConfigError

    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"lifelong: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"lifelong: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
