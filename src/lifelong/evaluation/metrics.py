"""Continual-RL metrics computed from a tensor of normalized evaluation scores.

All metrics take ``scores`` of shape ``[seeds, eval_points, eval_tasks]`` (0 = random policy,
1 = single-task reference) plus a :class:`StreamLayout` that says where each training-stream
position sits on the eval-point axis, and return one value per seed so that confidence intervals
can be taken over seeds. ``a[s, k, j]`` below is the score on eval task ``j`` right after training
stream position ``k``; ``own(j)`` / ``first(j)`` are the last / first stream positions training
task ``j``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Below this the forward-transfer denominator 1 - reference_auc is treated as zero.
_FT_EPS = 1e-8


@dataclass(frozen=True, eq=False)
class StreamLayout:
    """Maps each training-stream position onto the eval axes.

    ``eq=False`` because fields are arrays (element-wise ``==`` has no single truth value).
    """

    stream_to_eval: np.ndarray  # [K] eval-task index trained at position k, -1 if not evaluated
    task_end_eval: np.ndarray  # [K] eval-point index taken at the end of position k
    window_start_eval: np.ndarray  # [K] first eval-point index inside position k's window

    def __post_init__(self) -> None:
        for name in ("stream_to_eval", "task_end_eval", "window_start_eval"):
            value = np.asarray(getattr(self, name))
            is_int = value.size == 0 or np.issubdtype(value.dtype, np.integer)
            if value.ndim != 1 or not is_int:
                raise ValueError(f"StreamLayout.{name} must be a 1-D integer array, got {value!r}")
            object.__setattr__(self, name, value.astype(np.int64))
        k = len(self.stream_to_eval)
        if k == 0:
            raise ValueError("StreamLayout needs at least one stream position")
        if len(self.task_end_eval) != k or len(self.window_start_eval) != k:
            raise ValueError(
                "StreamLayout arrays must have the same length: "
                f"stream_to_eval={k}, task_end_eval={len(self.task_end_eval)}, "
                f"window_start_eval={len(self.window_start_eval)}"
            )
        if np.any(self.window_start_eval > self.task_end_eval):
            raise ValueError("StreamLayout.window_start_eval must be <= task_end_eval everywhere")

    @property
    def num_positions(self) -> int:
        """Stream length K."""
        return len(self.stream_to_eval)


def _validate(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Check ``scores`` against ``layout`` and return it as a float array."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 3:
        raise ValueError(
            f"scores must have shape [seeds, eval_points, eval_tasks], got ndim={scores.ndim}"
        )
    seeds, points, tasks = scores.shape
    if seeds == 0 or points == 0 or tasks == 0:
        raise ValueError(f"scores must be non-empty, got shape {scores.shape}")
    if np.any(layout.stream_to_eval < -1) or np.any(layout.stream_to_eval >= tasks):
        raise ValueError(
            f"layout.stream_to_eval must lie in [-1, {tasks}) for {tasks} eval tasks, "
            f"got {layout.stream_to_eval.tolist()}"
        )
    for name in ("task_end_eval", "window_start_eval"):
        index = getattr(layout, name)
        if np.any(index < 0) or np.any(index >= points):
            raise ValueError(
                f"layout.{name} must lie in [0, {points}) for {points} eval points, "
                f"got {index.tolist()}"
            )
    return scores


def _first_and_own(layout: StreamLayout, num_tasks: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last stream position training each eval task; -1 if never trained."""
    first = np.full(num_tasks, -1, dtype=np.int64)  # [eval_tasks]
    own = np.full(num_tasks, -1, dtype=np.int64)  # [eval_tasks]
    for k, j in enumerate(layout.stream_to_eval):
        if j < 0:
            continue
        if first[j] < 0:
            first[j] = k
        own[j] = k
    return first, own


def task_matrix(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Scores right after each stream position: ``a[s, k, j]``, shape [seeds, K, eval_tasks]."""
    scores = _validate(scores, layout)
    return scores[:, layout.task_end_eval, :]


def _forgotten_tasks(layout: StreamLayout, num_tasks: int) -> np.ndarray:
    """Eval tasks trained before, but not at, the last stream position."""
    _, own = _first_and_own(layout, num_tasks)
    last = layout.num_positions - 1
    return np.flatnonzero((own >= 0) & (own < last))


def average_performance(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Mean score over all eval tasks at the end of the stream. Returns [seeds]."""
    a = task_matrix(scores, layout)  # [seeds, K, tasks]
    return a[:, -1, :].mean(axis=1)


def forgetting(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Continual World forgetting: mean of a[own(j), j] - a[last, j]. Returns [seeds].

    Averaged over tasks trained before the last position; tasks last trained at the end cannot
    have been forgotten yet, so a stream without any such task scores 0 (not NaN).
    """
    a = task_matrix(scores, layout)  # [seeds, K, tasks]
    tasks = _forgotten_tasks(layout, a.shape[2])
    if tasks.size == 0:
        return np.zeros(a.shape[0])
    _, own = _first_and_own(layout, a.shape[2])
    drop = a[:, own[tasks], tasks] - a[:, -1, tasks]  # [seeds, len(tasks)]
    return drop.mean(axis=1)


def max_forgetting(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Best score since first training minus final score, same tasks as forgetting. [seeds].

    Captures drops that a later re-visit (cycle) partially recovered; 0 when no task qualifies.
    """
    a = task_matrix(scores, layout)  # [seeds, K, tasks]
    tasks = _forgotten_tasks(layout, a.shape[2])
    if tasks.size == 0:
        return np.zeros(a.shape[0])
    first, _ = _first_and_own(layout, a.shape[2])
    last = layout.num_positions - 1
    peaks = np.stack([a[:, first[j] : last, j].max(axis=1) for j in tasks], axis=1)
    return (peaks - a[:, -1, tasks]).mean(axis=1)


def backward_transfer(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """GEM-style backward transfer: mean of a[last, j] - a[own(j), j]. Returns [seeds].

    Same task set as :func:`forgetting` (so it equals minus forgetting); 0 when no task qualifies.
    """
    return -forgetting(scores, layout)


def window_auc(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Mean score of the trained task over each position's training window. [seeds, K].

    NaN at positions whose task is not evaluated.
    """
    scores = _validate(scores, layout)
    aucs = np.full((scores.shape[0], layout.num_positions), np.nan)
    for k, j in enumerate(layout.stream_to_eval):
        if j >= 0:
            aucs[:, k] = scores[:, layout.window_start_eval[k]: layout.task_end_eval[k] + 1,
                                j].mean(axis=1)
    return aucs


def relearning(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """Plasticity across cycles: mean window AUC of repeat visits minus first visits. [seeds].

    For every eval task trained more than once, the AUC of each later visit minus the AUC of
    its first visit (0: later cycles learn as fast as the first; negative: plasticity loss).
    NaN when no task is trained twice.
    """
    aucs = window_auc(scores, layout)
    first: dict[int, int] = {}
    gaps = []
    for k, j in enumerate(layout.stream_to_eval):
        if j < 0:
            continue
        if j in first:
            gaps.append(aucs[:, k] - aucs[:, first[j]])
        else:
            first[j] = k
    return np.mean(gaps, axis=0) if gaps else np.full(scores.shape[0], np.nan)


def forward_transfer(
    scores: np.ndarray, layout: StreamLayout, reference_auc: np.ndarray, normalized: bool = True
) -> np.ndarray:
    """Continual World forward transfer: normalized area under each training window. [seeds].

    For each stream position training an eval task ``j``: ``(auc - ref_j) / (1 - ref_j)`` with
    ``auc`` the mean score over the window and ``ref_j = reference_auc[j]`` the single-task
    reference's own mean score over its window. When the reference already sits at (or above) 1
    over its whole window, ``1 - ref_j`` is ~0 and the ratio would explode or flip sign, so the
    plain difference ``auc - ref_j`` is used instead. Returns 0 if no position trains an eval
    task. ``normalized=False`` gives the plain difference everywhere (Continual World's
    un-normalized "ft"): on a normalized-return scale a fast-learning reference pushes
    ``ref_j`` close to 1 and makes the ratio large, so both are reported.
    """
    scores = _validate(scores, layout)
    reference_auc = np.asarray(reference_auc, dtype=np.float64)
    if reference_auc.shape != (scores.shape[2],):
        raise ValueError(
            f"reference_auc must have shape [eval_tasks]=({scores.shape[2]},), "
            f"got {reference_auc.shape}"
        )
    transfers = []
    aucs = window_auc(scores, layout)  # [seeds, K]
    for k, j in enumerate(layout.stream_to_eval):
        if j < 0:
            continue
        auc = aucs[:, k]  # [seeds]
        ref = reference_auc[j]
        gap = 1.0 - ref
        transfers.append((auc - ref) / gap if normalized and gap > _FT_EPS else auc - ref)
    if not transfers:
        return np.zeros(scores.shape[0])
    return np.mean(transfers, axis=0)


def average_incremental_performance(scores: np.ndarray, layout: StreamLayout) -> np.ndarray:
    """AIA: mean over positions k of the mean score on eval tasks seen so far. [seeds].

    Positions before any eval task was trained are skipped; 0 if there is none at all.
    """
    a = task_matrix(scores, layout)  # [seeds, K, tasks]
    first, _ = _first_and_own(layout, a.shape[2])
    per_position = []
    for k in range(layout.num_positions):
        seen = np.flatnonzero((first >= 0) & (first <= k))
        if seen.size:
            per_position.append(a[:, k, seen].mean(axis=1))
    if not per_position:
        return np.zeros(a.shape[0])
    return np.mean(per_position, axis=0)


def bootstrap_ci(
    values: np.ndarray, confidence: float = 0.9, resamples: int = 4000, seed: int = 0
) -> tuple[float, float, float]:
    """Percentile-bootstrap CI of the mean over seeds: ``(mean, low, high)``.

    Deterministic for a given ``seed``; a single value gives ``(v, v, v)``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {values.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    mean = float(values.mean())
    if values.size == 1:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, values.size, size=(resamples, values.size))  # [resamples, seeds]
    means = values[picks].mean(axis=1)  # [resamples]
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return mean, float(low), float(high)


def difference_ci(a: np.ndarray, b: np.ndarray, confidence: float = 0.95,
                  resamples: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap CI of mean(a) - mean(b), resampling each group's seeds."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    diffs = (a[rng.integers(0, a.size, (resamples, a.size))].mean(axis=1)
             - b[rng.integers(0, b.size, (resamples, b.size))].mean(axis=1))
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return float(low), float(high)


METRICS: dict[str, Callable[[np.ndarray, StreamLayout], np.ndarray]] = {
    "average_performance": average_performance,
    "forgetting": forgetting,
    "max_forgetting": max_forgetting,
    "backward_transfer": backward_transfer,
    "average_incremental_performance": average_incremental_performance,
}

# Display order of every metric reported by summarize().
METRIC_NAMES: tuple[str, ...] = (
    "average_performance",
    "forgetting",
    "max_forgetting",
    "backward_transfer",
    "forward_transfer",
    "forward_transfer_gap",
    "average_incremental_performance",
)


def summarize(
    scores: np.ndarray, layout: StreamLayout, reference_auc: np.ndarray
) -> dict[str, dict]:
    """Every metric as ``{"mean", "ci_low", "ci_high", "per_seed"}`` of plain (JSON) floats."""
    summary = {}
    for name in METRIC_NAMES:
        if name.startswith("forward_transfer"):
            normalized = name == "forward_transfer"
            per_seed = forward_transfer(scores, layout, reference_auc, normalized)
        else:
            per_seed = METRICS[name](scores, layout)
        mean, low, high = bootstrap_ci(per_seed)
        summary[name] = {
            "mean": mean,
            "ci_low": low,
            "ci_high": high,
            "per_seed": [float(v) for v in per_seed],
        }
    return summary
