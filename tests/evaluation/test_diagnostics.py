"""Plasticity diagnostics on hand-made activations and parameters."""

import jax.numpy as jnp
import numpy as np

from lifelong.evaluation.diagnostics import (
    dormant_fraction,
    effective_rank,
    unit_scores,
    weight_norms,
)


def test_unit_scores_and_dormant_fraction():
    # unit 0 never fires, unit 1 fires a little, units 2-3 fire a lot
    acts = jnp.array([[0.0, 0.05, 1.0, 2.0], [0.0, 0.05, 3.0, 2.0]])
    scores = unit_scores(acts)  # mean |h| = [0, .05, 2, 2], layer mean 1.0125
    np.testing.assert_allclose(scores, np.array([0, 0.05, 2, 2]) / 1.0125, rtol=1e-5)
    other = jnp.ones((2, 4))  # a second layer with no dormant unit
    assert float(dormant_fraction({"a": acts, "b": other})) == 2 / 8
    assert float(dormant_fraction({"a": acts}, threshold=0.01)) == 1 / 4


def test_effective_rank_counts_directions_that_matter():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 16))
    rank_two = rng.normal(size=(64, 2)) @ basis  # exactly two directions
    assert int(effective_rank(jnp.asarray(rank_two))) == 2
    assert int(effective_rank(jnp.asarray(rng.normal(size=(256, 8))))) == 8
    # a third direction 1e-4 as strong holds < 1% of the singular-value mass: not counted
    nearly = rank_two + 1e-4 * rng.normal(size=(64, 1)) @ rng.normal(size=(1, 16))
    assert int(effective_rank(jnp.asarray(nearly))) == 2


def test_weight_norms_name_every_kernel():
    params = {"params": {"actor_0": {"kernel": 3 * jnp.ones((2, 2)), "bias": jnp.ones(2)},
                         "critic_out": {"kernel": jnp.array([[3.0], [4.0]])}}}
    norms = weight_norms(params)
    assert set(norms) == {"actor_0", "critic_out"}
    np.testing.assert_allclose([norms["actor_0"], norms["critic_out"]], [6.0, 5.0])
