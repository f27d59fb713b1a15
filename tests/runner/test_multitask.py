"""The multitask reference trains on every task at once, so it does not forget: at the end
of the probe stream it holds both tasks better than fine-tuning (same keys, 4 seeds)."""

from conftest import PROBE, significantly_less, train_study


def test_multitask_holds_every_task(finetune_probe):
    returns, _, _ = train_study([*PROBE, "agents={multitask: {multitask: true}}"])
    multitask = returns["multitask"]  # [seeds, eval_points, tasks]
    assert multitask.shape == finetune_probe.shape
    worst_task = multitask[:, -1].min(axis=1)  # the weaker of the two tasks, at the end
    assert significantly_less(-worst_task, -finetune_probe[:, -1].min(axis=1))
    assert multitask[:, -1].min() > multitask[:, 0].max()  # every task learned by every seed
