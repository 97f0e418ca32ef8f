"""The frontier-aware measurement plan on the real NAS-Bench-201 table (leave-one-hardware-out): most rows on
the reference devices' fronts, the rest spread off them; and what it is for — picks under a 10-row bound
that lose less accuracy than the spread alone gives."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BENCH

from nag.bench.fewshot import fit_device
from nag.bench.nb201 import EVAL_PCT
from nag.data.benchmarks import load_nb201
from nag.fewshot.plan import FRONT_SHARE, front_counts, frontier_plan
from nag.fewshot.transfer import TransferError, measurement_plan, references_for
from nag.method.budget import make_budgets
from nag.method.pareto import best_under_budget
from nag.spaces.nb201 import NB201Space


@pytest.fixture(scope="module")
def cells():
    t = load_nb201(BENCH / "nb201.csv")
    space = NB201Space()
    net = np.array([space.sees_input(a) for a in t.archs])
    A = space.features_batch([a for a, k in zip(t.archs, net) if k])
    return t, net, A, t.accuracy("acc_cifar10")[net]


def refs_of(t, net, device):
    refs = references_for(device, list(t.devices))
    return np.log(np.column_stack([t.latency(d)[net] for d in refs])), t.latency(device)[net]


def test_most_of_the_plan_lies_on_the_reference_fronts(cells):
    t, net, _, acc = cells
    R, _ = refs_of(t, net, "pixel3")
    count = front_counts(R, acc)
    assert 50 < np.sum(count > 0) < 500 and count.max() > R.shape[1] // 2  # of 15,284 networks
    rows = frontier_plan(R, 10, seed=0, acc=acc)
    assert len(set(rows.tolist())) == 10
    on_front = count[rows] > 0
    assert on_front.sum() == round(FRONT_SHARE * 10) and on_front[:7].all()  # then the spread, off them
    speed = R.mean(1)
    assert speed[rows[on_front]].min() < np.quantile(speed[count > 0], 0.2)  # the front, fast to slow
    assert speed[rows[on_front]].max() > np.quantile(speed[count > 0], 0.8)
    assert not np.array_equal(np.sort(rows), np.sort(frontier_plan(R, 10, seed=1, acc=acc)))
    more = frontier_plan(R, 10, seed=0, exclude=rows, acc=acc)
    assert not set(more.tolist()) & set(rows.tolist())
    # without accuracy, or with share 0, it is the spread plan
    assert np.array_equal(frontier_plan(R, 10, seed=0), measurement_plan(R, 10, seed=0))
    assert np.array_equal(frontier_plan(R, 10, 0, acc=acc, front_share=0), measurement_plan(R, 10, 0))
    with pytest.raises(TransferError, match="between 1 and"):
        frontier_plan(R, len(R) + 1, acc=acc)


def test_planned_on_the_fronts_the_picks_lose_less(cells):
    """Exhaustive picks under the bound from 10 planned rows, judged on the true column: mean regret over
    devices of four kinds (phone, CPU, two GPUs) is lower with the frontier plan than with the spread."""
    t, net, A, acc = cells
    regret = {"frontier": [], "spread": []}
    for device in ("samsung_a50", "silver_4114", "titanx_32", "2080ti_256"):
        R, y = refs_of(t, net, device)
        budgets = make_budgets(y, 10, *EVAL_PCT)
        oracle = acc[best_under_budget(acc, y, budgets)]
        for how, share in (("frontier", FRONT_SHARE), ("spread", 0.0)):
            rows = frontier_plan(R, 10, seed=0, acc=acc, front_share=share)
            _, bound, _ = fit_device(R, A, y, rows, 0.9, seed=0)
            i = best_under_budget(acc, bound, budgets)
            regret[how].append(np.mean(oracle - acc[i]))
    assert np.mean(regret["frontier"]) < np.mean(regret["spread"]), regret
