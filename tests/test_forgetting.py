"""The forgetting probe: on a 2-task permuted CartPole stream, fine-tuning forgets task 1
and EWC and multi-head forget significantly less (same keys, several seeds)."""

from conftest import probe_forgetting, significantly_less


def test_finetuning_learns_then_forgets_the_first_task(finetune_probe, finetune_forgetting):
    learned_first = finetune_probe[:, 2, 0]  # task 1's return at the end of task 1
    assert finetune_forgetting.mean() > 0.5 * learned_first.mean()


def test_ewc_and_multihead_forget_less_than_finetuning(finetune_forgetting):
    forgetting = probe_forgetting("{ewc: {components: [{name: ewc, strength: 1e4}]}, "
                                  "multihead: {components: [multihead]}}")
    assert significantly_less(forgetting["ewc"], finetune_forgetting), forgetting
    assert significantly_less(forgetting["multihead"], finetune_forgetting), forgetting
