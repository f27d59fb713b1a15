"""Reference runs are computed once per content hash and then read from the cache."""

import numpy as np
import pytest

from lifelong import config
from lifelong.evaluation.reference import Baseline, ReferenceRunner, cache_dir
from lifelong.runner.loop import TaskLoop
from lifelong.scenarios import make_scenario

TINY = ["scenario.num_tasks=2", "seeds=2", "steps_per_task=1024", "eval_every=512",
        "eval.max_steps=20", "eval.episodes=2"]


def test_reference_is_cached_by_content(monkeypatch):
    study = config.load(None, TINY)
    scenario = make_scenario(study.scenario)
    first = ReferenceRunner(study, scenario).returns(1)
    assert first.shape == (2, 3)  # [seeds, eval points]
    assert len(list(cache_dir().glob("*.json"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("a cached reference must not be retrained")

    monkeypatch.setattr(TaskLoop, "run", no_training)
    cached = ReferenceRunner(study, scenario).returns(1)
    np.testing.assert_array_equal(cached, first)
    assert cached.dtype == first.dtype  # a cached reference must give the same metrics
    changed = config.load(None, [*TINY, "learner.lr=1e-3"])  # another learner: another key
    with pytest.raises(AssertionError, match="must not be retrained"):
        ReferenceRunner(changed, make_scenario(changed.scenario)).returns(1)


def test_baseline_normalization():
    baseline = Baseline(random=20.0, reference=420.0, curve=np.array([20.0, 220.0, 420.0]))
    np.testing.assert_allclose(baseline.normalize(np.array([20.0, 420.0, 620.0])), [0, 1, 1.5])
    assert baseline.reference_auc == pytest.approx(0.75)  # mean of 0.5 and 1.0
