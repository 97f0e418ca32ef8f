from __future__ import annotations

import numpy as np
import pytest
import torch

from nag.method.budget import BudgetEmbedding, interpolation_weights, make_budgets
from nag.method.pareto import best_under_budget, dominance, hypervolume, pareto_mask


@pytest.mark.parametrize(
    "a1, c1, a2, c2, B, want",
    [
        (90, 5, 80, 3, 6, 1),  # both within: accuracy decides
        (80, 3, 90, 5, 6, -1),
        (90, 5, 90, 3, 6, 1),  # accuracy tie within budget: +1 (>=)
        (95, 8, 80, 3, 6, -1),  # β1 over budget: the cheaper one wins
        (80, 3, 95, 8, 6, 1),
        (95, 8, 90, 9, 6, 1),  # both over: latency decides
        (95, 9, 90, 8, 6, -1),
        (50, 7, 99, 7, 6, 1),  # both over with equal latency: tie gives +1
        (90, 6, 80, 6, 6, 1),  # exactly on the budget counts as within
    ],
)
def test_dominance_truth_table(a1, c1, a2, c2, B, want):
    assert dominance(a1, c1, a2, c2, B) == want


def test_dominance_antisymmetric_off_ties():
    rng = np.random.default_rng(0)
    a1, a2 = rng.random(1000) * 10, rng.random(1000) * 10
    c1, c2 = rng.random(1000) * 5, rng.random(1000) * 5
    B = rng.random(1000) * 5
    np.testing.assert_array_equal(dominance(a1, c1, a2, c2, B), -dominance(a2, c2, a1, c1, B))
    # where the deciding criterion ties, both orders are +1: equal accuracy within the budget (latencies
    # differ), equal latency past it (accuracies differ)
    for a1, c1, a2, c2 in ((90.0, 5.0, 90.0, 3.0), (50.0, 7.0, 99.0, 7.0)):
        assert dominance(a1, c1, a2, c2, 6.0) == dominance(a2, c2, a1, c1, 6.0) == 1


def test_frontier_helpers():
    acc = np.array([70.0, 80.0, 75.0, 90.0, 85.0])
    lat = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert pareto_mask(acc, lat).tolist() == [True, True, False, True, False]
    assert best_under_budget(acc, lat, [0.5, 1.0, 3.5, 10]).tolist() == [-1, 0, 1, 3]
    # staircase: [1,2)×(70-60) + [2,4)×(80-60) + [4,5]×(90-60)
    assert hypervolume(acc, lat, 60.0, 5.0) == pytest.approx(10 + 40 + 30)
    assert hypervolume(acc, lat, 95.0, 5.0) == 0.0


def test_interpolation():
    emb = BudgetEmbedding([1.0, 2.0, 4.0], dim=3)
    t = emb.table.detach()
    out = emb(torch.tensor([1.0, 2.0, 4.0, 1.5, 3.0, 9.0, 0.5])).detach()
    torch.testing.assert_close(out[:3], t)  # endpoints equal trained embeddings
    torch.testing.assert_close(out[3], 0.5 * (t[0] + t[1]))  # midpoint halfway
    torch.testing.assert_close(out[4], 0.5 * (t[1] + t[2]))
    torch.testing.assert_close(out[5], t[2])  # above B_K: B_K
    torch.testing.assert_close(out[6], t[0])  # below B_1 (but above the cheapest arch): B_1
    w = interpolation_weights([1.0, 2.0, 4.0], torch.tensor([1.25]))
    torch.testing.assert_close(w, torch.tensor([[0.75, 0.25, 0.0]]))  # ξ = (B2 − B)/(B2 − B1)


def test_make_budgets():
    b = make_budgets(np.arange(101.0), 5, 0, 100)
    np.testing.assert_allclose(b, [0, 25, 50, 75, 100])
    with pytest.raises(ValueError):
        make_budgets(np.ones(10), 5, 1, 99)
    with pytest.raises(ValueError):
        BudgetEmbedding([2.0, 1.0])
