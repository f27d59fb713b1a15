"""`lifelong run | report | list`: the command line."""

from __future__ import annotations

import argparse
import os
import sys

import yaml


def use_all_cores() -> None:
    """Exposes every CPU core as a JAX device (before JAX starts) so seeds run in parallel."""
    flag = "--xla_force_host_platform_device_count"
    if flag not in os.environ.get("XLA_FLAGS", "") and "jax" not in sys.modules:
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}={os.cpu_count()}"


def _run(args: argparse.Namespace) -> int:
    from lifelong import config
    from lifelong.errors import ConfigError
    from lifelong.report import format_table, load_run, write_report
    from lifelong.runner.study import resume_study, run_study

    if args.resume is not None:
        given = [flag for flag, value in [("CONFIG", args.config), ("--set", args.set),
                                          ("--out", args.out), ("--overwrite", args.overwrite),
                                          ("--dry-run", args.dry_run)] if value]
        if given:
            raise ConfigError("--resume", f"continues the run folder's own config; drop "
                              f"{', '.join(given)}")
        run_dir = resume_study(args.resume, progress=not args.quiet)
    else:
        study = config.load(args.config, args.set)
        if args.dry_run:
            from lifelong.runner.agent import build_agent
            from lifelong.scenarios import make_scenario

            scenario = make_scenario(study.scenario)
            for agent in study.agents:
                build_agent(agent, scenario, study.config.steps_per_task)
            print(yaml.safe_dump(study.dump(), sort_keys=False), end="")
            return 0
        run_dir = run_study(study, args.out, progress=not args.quiet, overwrite=args.overwrite)
    html = write_report(run_dir)
    print(format_table(load_run(run_dir)))
    print(f"\nrun folder: {run_dir}\nreport:     {html}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lifelong.sweep.scheduler import run_sweep
    from lifelong.sweep.spec import load_sweep
    from lifelong.sweep.summary import write_summary

    sweep, trials = load_sweep(args.sweep)
    updates = {"backend": args.backend, "workers": args.workers}
    sweep = sweep.model_copy(update={k: v for k, v in updates.items() if v is not None})
    out = Path(args.out) if args.out else Path("runs") / "sweeps" / Path(args.sweep).stem
    status = run_sweep(sweep, trials, out, progress=not args.quiet, address=args.address)
    print(write_summary(out, sweep, status))
    print(f"sweep folder: {out}")
    return 0 if all(e["status"] == "done" for e in status.values()) else 1


def _report(args: argparse.Namespace) -> int:
    from lifelong.report import format_table, load_run, write_report

    html = write_report(args.run_dir)
    print(format_table(load_run(args.run_dir)))
    print(f"\nreport: {html}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lifelong.report.compare import compare_table, load_rows

    text = compare_table(load_rows(args.run_dirs), args.format)
    if args.out:
        Path(args.out).write_text(text)
    print(text, end="")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from lifelong.datasets import collect_config, minari_store
    from lifelong.datasets.collect import collect
    from lifelong.scenarios import make_scenario

    job = collect_config.load(args.config, args.set)
    root = Path(args.out) if args.out else None
    names = [task.name for task in make_scenario(job.scenario).tasks]
    ids = collect_config.dataset_ids(job, names, root, args.overwrite)
    cfg = job.config
    datasets = collect(job.scenario, cfg.qualities, cfg.transitions, cfg.behaviour_steps,
                       cfg.seed, not args.quiet, cfg.learner, evals=cfg.evals,
                       eval_episodes=cfg.eval_episodes, medium_level=cfg.medium_level)
    table = Table("dataset id", "episodes", "transitions", "mean return", "normalized",
                  title="offline datasets")
    for task_ids, task_datasets in zip(ids, datasets):
        for quality, dataset_id in task_ids.items():
            dataset = task_datasets[quality]
            minari_store.save(dataset, dataset_id, root, overwrite=args.overwrite)
            mean = float(dataset.episode_returns().mean())
            table.add_row(dataset_id, str(len(dataset.episode_ends())), f"{len(dataset):,}",
                          f"{mean:.1f}", f"{float(dataset.normalized(mean)):.2f}")
    console = Console()
    console.width = max(console.width, 120)  # whole ids, even in a pipe
    console.print(table)
    print(f"\nMinari root: {minari_store.root_dir(root)}\nfor an offline scenario:\n")
    all_ids = [dataset_id for task_ids in ids for dataset_id in task_ids.values()]
    print(yaml.safe_dump({"datasets": all_ids}, sort_keys=False), end="")
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
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue a stopped study from its checkpoints")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the run folder given by --out if it holds a run")
    run.add_argument("--dry-run", action="store_true",
                     help="validate the config, build its agents, print the resolved config")
    run.set_defaults(handler=_run)
    sweep = commands.add_parser("sweep", help="run a grid or random search of studies")
    sweep.add_argument("sweep", help="sweep YAML file (a base study and the fields to vary)")
    sweep.add_argument("--out", help="sweep folder (default: runs/sweeps/<file name>); "
                       "running a sweep again skips its finished trials")
    sweep.add_argument("--backend", choices=["local", "ray"], help="override the file's")
    sweep.add_argument("--address", help="Ray cluster address (default: a local Ray)")
    sweep.add_argument("--workers", type=int, help="local: trials at once (default: cores)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=_sweep)
    report = commands.add_parser("report", help="rebuild tables, plots and report.html")
    report.add_argument("run_dir", help="a finished run folder")
    report.set_defaults(handler=_report)
    compare = commands.add_parser("compare", help="one table over several run folders")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    compare.add_argument("--format", choices=["md", "latex", "csv"], default="md")
    compare.add_argument("--out", help="also write the table to this file")
    compare.set_defaults(handler=_compare)
    collecting = commands.add_parser("collect", help="generate offline datasets (Minari) "
                                     "from an online scenario's tasks")
    collecting.add_argument("config", help="collect YAML file (see examples/collect/)")
    collecting.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override a config field, e.g. --set transitions=5000")
    collecting.add_argument("--out", metavar="ROOT", help="Minari dataset root (default: "
                            "$MINARI_DATASETS_PATH or ~/.minari/datasets)")
    collecting.add_argument("--overwrite", action="store_true",
                            help="replace datasets that already have these ids")
    collecting.add_argument("--quiet", action="store_true", help="no progress output")
    collecting.set_defaults(handler=_collect)
    listing = commands.add_parser("list", help="scenarios, learners and components")
    listing.set_defaults(handler=_list)
    return main


def main(argv: list[str] | None = None) -> int:
    use_all_cores()
    args = parser().parse_args(argv)
    from lifelong.errors import ConfigError, RunError

    try:
        return args.handler(args)
    except (ConfigError, FileNotFoundError) as error:
        return _fail(error, 2)
    except RunError as error:
        return _fail(error, 1)


def _fail(error: Exception, code: int) -> int:
    """Prints `error` as one line (no traceback) and returns the exit code."""
    message = " ".join(str(error).split())
    print(f"lifelong: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
