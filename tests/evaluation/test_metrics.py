"""Metric values on small score tensors whose expected numbers are worked out by hand."""

import json

import numpy as np
import pytest

from lifelong.evaluation.metrics import (
    METRIC_NAMES,
    METRICS,
    StreamLayout,
    average_incremental_performance,
    average_performance,
    backward_transfer,
    bootstrap_ci,
    forgetting,
    forward_transfer,
    max_forgetting,
    relearning,
    summarize,
    task_matrix,
    window_auc,
)

# Two tasks A, B trained once each, two eval points per window plus eval point 0 before training.
# Eval points: 0 | 1 2 (A) | 3 4 (B).
TWO_TASKS = StreamLayout(
    stream_to_eval=np.array([0, 1]),
    task_end_eval=np.array([2, 4]),
    window_start_eval=np.array([1, 3]),
)
TWO_TASK_SCORES = np.array(
    [
        # seed 0: [A, B] per eval point
        [[0.0, 0.0], [0.4, 0.1], [0.8, 0.2], [0.6, 0.5], [0.5, 0.9]],
        # seed 1
        [[0.1, 0.0], [0.2, 0.0], [0.6, 0.1], [0.6, 0.3], [0.6, 0.7]],
    ]
)  # [seeds=2, eval_points=5, eval_tasks=2]
TWO_TASK_REF = np.array([0.5, 0.2])

# Stream A B A B X (X is not evaluated, C is evaluated but never trained), one eval point per
# window; rows below are a[k] = scores after position k over eval tasks [A, B, C].
CYCLE = StreamLayout(
    stream_to_eval=np.array([0, 1, 0, 1, -1]),
    task_end_eval=np.array([1, 2, 3, 4, 5]),
    window_start_eval=np.array([1, 2, 3, 4, 5]),
)
CYCLE_SCORES = np.array(
    [
        [
            [0.0, 0.0, 0.0],  # before training
            [0.9, 0.95, 0.1],  # after A (B high before its first training: must be ignored)
            [0.5, 0.7, 0.1],  # after B
            [0.6, 0.4, 0.1],  # after A again
            [0.3, 0.9, 0.1],  # after B again
            [0.2, 0.6, 0.1],  # after X
        ]
    ]
)  # [seeds=1, eval_points=6, eval_tasks=3]


def test_task_matrix_picks_task_end_points():
    a = task_matrix(TWO_TASK_SCORES, TWO_TASKS)
    np.testing.assert_allclose(a[0], [[0.8, 0.2], [0.5, 0.9]])
    np.testing.assert_allclose(a[1], [[0.6, 0.1], [0.6, 0.7]])


def test_two_tasks_all_metrics():
    s, lay = TWO_TASK_SCORES, TWO_TASKS
    # seed 0: (0.5 + 0.9) / 2 = 0.7;  seed 1: (0.6 + 0.7) / 2 = 0.65
    np.testing.assert_allclose(average_performance(s, lay), [0.7, 0.65])
    # only A qualifies (own=0 < last=1): seed 0: 0.8 - 0.5 = 0.3;  seed 1: 0.6 - 0.6 = 0
    np.testing.assert_allclose(forgetting(s, lay), [0.3, 0.0], atol=1e-12)
    # A seen at k in [0, 0] only, so max forgetting equals forgetting here
    np.testing.assert_allclose(max_forgetting(s, lay), [0.3, 0.0], atol=1e-12)
    np.testing.assert_allclose(backward_transfer(s, lay), [-0.3, 0.0], atol=1e-12)
    # seed 0: A auc (0.4+0.8)/2=0.6 -> (0.6-0.5)/0.5=0.2;  B auc (0.5+0.9)/2=0.7 -> 0.5/0.8=0.625
    #         mean (0.2 + 0.625) / 2 = 0.4125
    # seed 1: A auc (0.2+0.6)/2=0.4 -> -0.1/0.5=-0.2;  B auc (0.3+0.7)/2=0.5 -> 0.3/0.8=0.375
    #         mean (-0.2 + 0.375) / 2 = 0.0875
    np.testing.assert_allclose(forward_transfer(s, lay, TWO_TASK_REF), [0.4125, 0.0875])
    # un-normalized: seed 0: (0.1 + 0.5) / 2 = 0.3;  seed 1: (-0.1 + 0.3) / 2 = 0.1
    np.testing.assert_allclose(forward_transfer(s, lay, TWO_TASK_REF, normalized=False),
                               [0.3, 0.1])
    # seed 0: k=0 -> 0.8;  k=1 -> (0.5+0.9)/2 = 0.7;  mean 0.75
    # seed 1: k=0 -> 0.6;  k=1 -> (0.6+0.7)/2 = 0.65; mean 0.625
    np.testing.assert_allclose(average_incremental_performance(s, lay), [0.75, 0.625])


def test_cycles_untrained_and_unevaluated_tasks():
    s, lay = CYCLE_SCORES, CYCLE
    # final row over all eval tasks, C included: (0.2 + 0.6 + 0.1) / 3 = 0.3
    np.testing.assert_allclose(average_performance(s, lay), [0.3])
    # own(A)=2, own(B)=3, last=4 (X); C never trained.
    # A: 0.6 - 0.2 = 0.4;  B: 0.9 - 0.6 = 0.3;  mean 0.35
    np.testing.assert_allclose(forgetting(s, lay), [0.35])
    np.testing.assert_allclose(backward_transfer(s, lay), [-0.35])
    # A: max(a[0..3, A]) = max(0.9, 0.5, 0.6, 0.3) = 0.9 -> 0.9 - 0.2 = 0.7
    # B: max(a[1..3, B]) = max(0.7, 0.4, 0.9) = 0.9 -> 0.9 - 0.6 = 0.3  (a[0, B]=0.95 excluded)
    # mean (0.7 + 0.3) / 2 = 0.5
    np.testing.assert_allclose(max_forgetting(s, lay), [0.5])
    # seen-so-far means: k0 {A} 0.9; k1 (0.5+0.7)/2=0.6; k2 (0.6+0.4)/2=0.5; k3 (0.3+0.9)/2=0.6;
    # k4 (0.2+0.6)/2=0.4 -> (0.9+0.6+0.5+0.6+0.4)/5 = 0.6  (C never seen)
    np.testing.assert_allclose(average_incremental_performance(s, lay), [0.6])


def test_forward_transfer_cycles_and_saturated_reference():
    # ref B = 1.0 leaves no room to normalize, so B uses the plain difference.
    ref = np.array([0.5, 1.0, 0.3])
    # k0 A: (0.9-0.5)/0.5 = 0.8;  k1 B: 0.7-1.0 = -0.3;  k2 A: (0.6-0.5)/0.5 = 0.2;
    # k3 B: 0.9-1.0 = -0.1;  k4 X skipped  -> (0.8 - 0.3 + 0.2 - 0.1) / 4 = 0.15
    np.testing.assert_allclose(forward_transfer(CYCLE_SCORES, CYCLE, ref), [0.15])


def test_window_auc_and_relearning_across_cycles():
    # one eval point per window: the trained task's score at its own position; X unevaluated
    np.testing.assert_allclose(window_auc(CYCLE_SCORES, CYCLE),
                               [[0.9, 0.7, 0.6, 0.9, np.nan]])
    # A: 0.6 - 0.9 = -0.3;  B: 0.9 - 0.7 = 0.2  -> mean -0.05
    np.testing.assert_allclose(relearning(CYCLE_SCORES, CYCLE), [-0.05])
    # no task is trained twice: undefined
    assert np.isnan(relearning(TWO_TASK_SCORES, TWO_TASKS)).all()
    # two points per window: A's window is points 1..2 -> (0.4 + 0.8) / 2 = 0.6 for seed 0
    np.testing.assert_allclose(window_auc(TWO_TASK_SCORES, TWO_TASKS)[0], [0.6, 0.7])


def test_no_forgettable_task_gives_zeros():
    # Single task trained last: nothing can have been forgotten and the result is NaN-free.
    layout = StreamLayout(np.array([0]), np.array([2]), np.array([1]))
    scores = np.array([[[0.0], [0.5], [0.7]], [[0.1], [0.2], [0.3]]])  # [2, 3, 1]
    for metric in (forgetting, max_forgetting, backward_transfer):
        np.testing.assert_array_equal(metric(scores, layout), [0.0, 0.0])
    # AP = a[last] = [0.7, 0.3];  FT with ref 0: auc (0.5+0.7)/2=0.6 and (0.2+0.3)/2=0.25
    np.testing.assert_allclose(average_performance(scores, layout), [0.7, 0.3])
    np.testing.assert_allclose(forward_transfer(scores, layout, np.array([0.0])), [0.6, 0.25])


def test_stream_without_eval_tasks_gives_zeros():
    layout = StreamLayout(np.array([-1, -1]), np.array([1, 2]), np.array([1, 2]))
    scores = np.full((2, 3, 1), 0.4)
    np.testing.assert_array_equal(forward_transfer(scores, layout, np.array([0.1])), [0, 0])
    np.testing.assert_array_equal(average_incremental_performance(scores, layout), [0, 0])
    np.testing.assert_allclose(average_performance(scores, layout), [0.4, 0.4])


@pytest.mark.parametrize(
    ("scores", "layout", "match"),
    [
        (np.zeros((5, 2)), TWO_TASKS, "ndim=2"),
        (np.zeros((1, 5, 1)), TWO_TASKS, "stream_to_eval must lie in"),
        (np.zeros((1, 4, 2)), TWO_TASKS, "task_end_eval must lie in"),
    ],
)
def test_invalid_scores(scores, layout, match):
    with pytest.raises(ValueError, match=match):
        average_performance(scores, layout)


def test_invalid_layout():
    with pytest.raises(ValueError, match="same length"):
        StreamLayout(np.array([0, 1]), np.array([2]), np.array([1]))
    with pytest.raises(ValueError, match="window_start_eval must be <="):
        StreamLayout(np.array([0]), np.array([1]), np.array([2]))
    with pytest.raises(ValueError, match="integer"):
        StreamLayout(np.array([0.5]), np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="at least one"):
        StreamLayout(np.array([], dtype=int), np.array([], dtype=int), np.array([], dtype=int))


def test_invalid_reference_auc():
    with pytest.raises(ValueError, match="reference_auc"):
        forward_transfer(TWO_TASK_SCORES, TWO_TASKS, np.array([0.5]))


def test_bootstrap_is_deterministic_and_contains_mean():
    values = np.array([0.2, 0.5, 0.4, 0.9, 0.6])
    first = bootstrap_ci(values, seed=3)
    assert first == bootstrap_ci(values, seed=3)
    mean, low, high = first
    assert mean == pytest.approx(0.52)  # (0.2+0.5+0.4+0.9+0.6)/5
    assert low < mean < high
    assert 0.2 <= low and high <= 0.9


def test_bootstrap_narrows_with_less_spread():
    values = np.array([0.2, 0.5, 0.4, 0.9, 0.6])
    _, low, high = bootstrap_ci(values)
    # Same resampling indices, spread shrunk 10x around the mean -> interval 10x narrower.
    _, tight_low, tight_high = bootstrap_ci(0.52 + 0.1 * (values - 0.52))
    assert tight_high - tight_low == pytest.approx(0.1 * (high - low))
    assert tight_low < 0.52 < tight_high


def test_bootstrap_single_seed_and_bad_input():
    assert bootstrap_ci(np.array([0.3])) == (0.3, 0.3, 0.3)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci(np.array([]))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(np.array([0.1, 0.2]), confidence=1.0)


def test_summarize_is_json_ready():
    summary = summarize(TWO_TASK_SCORES, TWO_TASKS, TWO_TASK_REF)
    assert tuple(summary) == METRIC_NAMES
    assert set(METRICS) == set(METRIC_NAMES) - {"forward_transfer", "forward_transfer_gap"}
    json.dumps(summary)
    ap = summary["average_performance"]
    assert ap["per_seed"] == pytest.approx([0.7, 0.65])
    assert ap["mean"] == pytest.approx(0.675)
    assert ap["ci_low"] <= ap["mean"] <= ap["ci_high"]
    assert all(type(v) is float for v in (ap["mean"], ap["ci_low"], ap["ci_high"]))
    assert summary["forward_transfer"]["per_seed"] == pytest.approx([0.4125, 0.0875])


def test_summarize_single_seed():
    summary = summarize(CYCLE_SCORES, CYCLE, np.array([0.5, 1.0, 0.3]))
    fgt = summary["forgetting"]
    assert (fgt["mean"], fgt["ci_low"], fgt["ci_high"]) == pytest.approx((0.35, 0.35, 0.35))
