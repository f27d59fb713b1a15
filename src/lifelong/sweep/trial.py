"""One sweep trial, run in a worker process (a process-pool worker or a Ray task)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def run_trial(run_dir: str, study: dict[str, Any], devices: int) -> dict[str, Any]:
    """Runs the resolved `study` into `run_dir`, or resumes it if an earlier attempt left a
    run folder there; returns its metrics. `devices` CPU devices share the trial's seeds
    (effective when this process has not started JAX yet, as in a fresh worker)."""
    flag = "--xla_force_host_platform_device_count"
    kept = [f for f in os.environ.get("XLA_FLAGS", "").split() if not f.startswith(flag)]
    os.environ["XLA_FLAGS"] = " ".join([*kept, f"{flag}={devices}"])  # the parent's is for all
    import jax

    from lifelong import config
    from lifelong.report import write_report
    from lifelong.runner.study import resume_study, run_study

    path = Path(run_dir)
    try:
        if (path / "config.yaml").is_file():
            resume_study(path, progress=False)
        else:
            run_study(config.resolve(study), path, progress=False)
        write_report(path)
    except Exception as error:  # the parent records it; plain RuntimeErrors always pickle
        raise RuntimeError(f"{type(error).__name__}: {' '.join(str(error).split())}") from None
    finally:
        jax.clear_caches()  # a long-lived worker compiles many trials
    return json.loads((path / "metrics.json").read_text())
