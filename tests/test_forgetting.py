"""The forgetting probe: on a 2-task permuted CartPole stream, fine-tuning forgets task 1
and EWC and multi-head forget significantly less (same keys, several seeds, one test)."""

import numpy as np
from conftest import raw_forgetting, train_study


def _significantly_less(method: np.ndarray, baseline: np.ndarray) -> bool:
    """One-sided Welch criterion: the mean gap exceeds two standard errors."""
    gap = baseline.mean() - method.mean()
    stderr = np.sqrt(baseline.var(ddof=1) / baseline.size + method.var(ddof=1) / method.size)
    return gap > 2 * stderr


def test_ewc_and_multihead_forget_less_than_finetuning():
    returns, scenario, study = train_study([
        "scenario.num_tasks=2", "seeds=4", "steps_per_task=102400", "eval_every=51200",
        "eval.greedy=true",
        "agents={finetune: {}, ewc: {components: [{name: ewc, strength: 1e4}]}, "
        "multihead: {components: [multihead]}}",
    ])
    forgetting = {name: raw_forgetting(r, scenario, study) for name, r in returns.items()}
    learned_first = returns["finetune"][:, study.config.steps_per_task // 51200, 0]
    # fine-tuning learned the first task, then lost most of it
    assert forgetting["finetune"].mean() > 0.5 * learned_first.mean()
    assert _significantly_less(forgetting["ewc"], forgetting["finetune"]), forgetting
    assert _significantly_less(forgetting["multihead"], forgetting["finetune"]), forgetting
