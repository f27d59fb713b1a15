"""Runs a sweep's trials on a backend, with retries, and records every trial's status.

Backends hand out `concurrent.futures.Future`s: `local` a process pool (spawned workers, the
cores split between them), `ray` remote tasks on a Ray cluster (`ray.ObjectRef.future()`).
`trials.json` in the sweep folder records each trial's parameters, status, attempts and last
error; it is rewritten atomically after every event, and a trial whose run folder holds
metrics for every agent is skipped when the sweep runs again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lifelong.atomic import atomic_write
from lifelong.errors import ConfigError
from lifelong.sweep.spec import SweepConfig, Trial
from lifelong.sweep.trial import run_trial


class LocalBackend:
    """A pool of `workers` spawned processes; each trial's seeds share cores / workers."""

    def __init__(self, workers: int | None):
        cores = os.cpu_count() or 1
        self.workers = workers or cores
        self.devices = max(1, cores // self.workers)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, run_dir: Path, trial: Trial) -> Future:
        return self._pool.submit(run_trial, str(run_dir), trial.study, self.devices)

    def recover(self) -> None:
        """A worker died (e.g. killed by the OS): replace the pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown()


class RayBackend:
    """Each trial a Ray task with `devices` CPUs, on the cluster at `address` (or local)."""

    def __init__(self, address: str | None, devices: int = 1):
        try:
            import ray
        except ImportError:
            raise ConfigError("backend", "ray is not installed; pip install 'lifelong[ray]' "
                              "or use backend: local") from None
        self._ray, self.devices = ray, devices
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self._remote = ray.remote(num_cpus=devices, max_retries=0)(run_trial)

    def submit(self, run_dir: Path, trial: Trial) -> Future:
        return self._remote.remote(str(run_dir.resolve()), trial.study, self.devices).future()

    def recover(self) -> None:
        pass  # Ray reschedules on live nodes by itself

    def close(self) -> None:
        self._ray.shutdown()


def _error_text(error: BaseException) -> str:
    cause = getattr(error, "cause", None) or error  # a RayTaskError carries the worker's error
    return " ".join(str(cause).split()) or type(cause).__name__


def trial_finished(run_dir: Path, trial: Trial) -> bool:
    metrics = run_dir / "metrics.json"
    return metrics.is_file() and set(json.loads(metrics.read_text())) >= set(trial.study["agents"])


def run_sweep(sweep: SweepConfig, trials: list[Trial], out: Path, progress: bool = True,
              address: str | None = None) -> dict[str, dict[str, Any]]:
    """Runs every unfinished trial into `out/trials/<id>`; returns their status entries
    (`trials.json` also keeps those of other sweeps run into the same folder)."""
    out.mkdir(parents=True, exist_ok=True)
    status_path = out / "trials.json"
    status = json.loads(status_path.read_text()) if status_path.is_file() else {}
    todo = []
    for trial in trials:
        finished = trial_finished(out / "trials" / trial.id, trial)
        attempts = status.get(trial.id, {}).get("attempts", 0) if finished else 0
        status[trial.id] = {"params": trial.params, "status": "done" if finished else "pending",
                            "attempts": attempts, "error": None}
        if not finished:
            todo.append(trial)
    _write_status(status_path, status)
    if todo:
        _run(sweep, todo, out, status, progress, address)
    return {trial.id: status[trial.id] for trial in trials}


def _run(sweep: SweepConfig, todo: list[Trial], out: Path, status: dict[str, Any],
         progress: bool, address: str | None) -> None:
    status_path = out / "trials.json"
    backend = RayBackend(address) if sweep.backend == "ray" else LocalBackend(sweep.workers)
    columns = (TextColumn("[bold]sweep"), BarColumn(bar_width=20), MofNCompleteColumn(),
               TextColumn("trials  {task.fields[failed]} failed"), TimeElapsedColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("", total=len(todo), failed=0)
        pending = {backend.submit(out / "trials" / t.id, t): t for t in todo}
        failed = 0
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            retry, broken = [], False
            for future in done:
                trial = pending.pop(future)
                entry = status[trial.id]
                entry["attempts"] += 1
                error = future.exception()
                if error is None:
                    entry.update(status="done", error=None)
                    bar.advance(task)
                elif entry["attempts"] <= sweep.retries:
                    entry.update(status="retrying", error=_error_text(error))
                    retry.append(trial)
                else:
                    entry.update(status="failed", error=_error_text(error))
                    failed += 1
                    bar.update(task, advance=1, failed=failed)
                broken |= isinstance(error, BrokenProcessPool)
            if broken:  # every future of a broken pool fails: resubmit the rest as well
                backend.recover()
                retry += [pending.pop(f) for f in list(pending)]
            for trial in retry:
                pending[backend.submit(out / "trials" / trial.id, trial)] = trial
            _write_status(status_path, status)
    backend.close()


def _write_status(path: Path, status: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(status, indent=2, default=str))
