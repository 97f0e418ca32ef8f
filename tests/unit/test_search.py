"""The baselines (nag/search) on a real NB201 device column: rewards, per-budget REINFORCE learns,
random search and evolution stay feasible, NSGA-II spends its evaluations, the shared finishing step,
and every method answering every budget under the stated query budget."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import BENCH

from nag.config import DatasetConfig, GeneratorConfig, Params, PlatformConfig
from nag.method.acc_predictor import make_regressor
from nag.platforms import resolve
from nag.search import policy
from nag.search.evolution import evolution, random_search
from nag.search.nsga import nsga2
from nag.search.problem import SearchProblem
from nag.search.runner import METHODS, run_all


@pytest.fixture(scope="module")
def platform():
    return resolve(
        PlatformConfig("nb201-pixel3", kind="benchmark", file=str(BENCH / "nb201.csv"), device="pixel3")
    )


@pytest.fixture(scope="module")
def problem(platform):
    data, _ = platform.make_dataset(DatasetConfig(300, 0))
    pred = make_regressor("ridge", 0).fit(data.features, data.acc)
    return SearchProblem(
        platform.space, platform.latency, platform.accuracy, data, pred, candidates=8, seed=0
    )


def test_rewards_match_their_formulas(problem):
    archs = problem.data.archs[:20]
    toks = np.array([a.tokens for a in archs])
    acc, lat = problem.predict(archs), problem.latency(archs)
    for b in (float(np.median(lat)), float(lat.max()) * 2):
        np.testing.assert_allclose(policy.mo_reward(problem, b)(toks), acc * (lat / b) ** -0.07)
        np.testing.assert_allclose(policy.absolute_reward(problem, b)(toks), acc - 7.0 * np.abs(lat / b - 1))


def test_remembered_latency_and_predictions_equal_the_functions(problem, platform):
    rng = np.random.default_rng(5)
    toks = np.array([problem.space.random_tokens(rng) for _ in range(50)])
    toks = np.concatenate([toks, toks[:20]])  # repeats are answered from memory
    archs = [problem.space.from_tokens(t) for t in toks]
    calls = problem.predictor_calls
    np.testing.assert_array_equal(problem.latency_tokens(toks), platform.latency(archs))
    np.testing.assert_array_equal(problem.latency(archs[::-1]), platform.latency(archs[::-1]))
    want = problem.predictor.predict(problem.space.features_batch(archs))
    np.testing.assert_allclose(problem.predict_tokens(toks), want)
    np.testing.assert_allclose(problem.predict(archs), want)
    assert problem.predictor_calls - calls == 2 * len(toks)  # every scored arch counts, remembered or not


def test_per_budget_reinforce_learns_its_reward(problem):
    def reward(tokens):  # token 2 at decision 0 is good, anything else bad
        return (tokens[:, 0] == 2).astype(np.float64)

    gen, stats = policy.train_for_budget(problem.space, reward, 5.0, samples=80 * 60,
                                         cfg=GeneratorConfig(entropy=0.01, lr=0.01), seed=0)
    share = np.mean([a.tokens[0] == 2 for a in policy.sample_policy(gen, problem.space, 400)])
    assert stats["steps"] == 60 and share > 0.8, share


def test_random_search_and_evolution_stay_feasible(problem):
    b = float(np.percentile(problem.data.lat, 30))
    archs, stats = random_search(problem, b, 200, seed=0)
    assert len(archs) == 200 and (problem.latency(archs) <= b).all() and stats["drawn"] >= 200
    hist, stats = evolution(problem, b, 600, seed=0, population=50)
    assert stats["samples"] >= 600 and stats["generations"] >= 10
    assert (problem.latency(hist) <= b).all()
    # selection: children are bred from the best quarter, so the last generations' children score well
    # above the random initial population (a selection that ignored fitness would not)
    initial, late = problem.predict(hist[:50]), problem.predict(hist[-100:])
    assert late.mean() > initial.mean() + initial.std(), (late.mean(), initial.mean(), initial.std())


def test_nsga2_spends_its_evaluations(problem):
    calls = problem.predictor_calls
    archs, stats = nsga2(problem, 1000, seed=0, population=50)
    assert stats["samples"] >= 1000 and problem.predictor_calls - calls >= 1000
    assert 1 <= len(archs) <= 50


def test_finish_queries_at_most_c_and_prefers_feasible(problem):
    b = float(np.percentile(problem.data.lat, 50))
    archs = problem.space.sample(200, seed=3)
    counter = problem.counter()
    pick = problem.finish(archs, b, counter)
    assert pick.latency <= b and pick.n_queried <= 8
    feas = [a for a, t in zip(archs, problem.latency(archs)) if t <= b]
    top = np.argsort(-problem.predict(feas), kind="stable")[:8]
    assert pick.accuracy == max(problem.oracle([feas[i] for i in top]))
    too_slow = [a for a, t in zip(archs, problem.latency(archs)) if t > b]
    none = problem.finish(too_slow, b, problem.counter())
    assert none.n_feasible == 0 and none.latency == min(problem.latency(too_slow))


def test_every_method_answers_every_budget_within_queries(platform):
    p = Params()
    p = replace(p, dataset=replace(p.dataset, train_size=200), budgets=replace(p.budgets, k=3),
                evaluator=replace(p.evaluator, steps=50, pairs_per_step=128),
                generator=replace(p.generator, iterations=20),
                infer=replace(p.infer, candidates=4, pool=64, max_rounds=2),
                paper=replace(p.paper, predictor="ridge"))
    budgets = np.percentile(platform.latency.values, [40, 80])
    res = run_all(platform, p, budgets, seed=0)
    assert set(res) == set(METHODS)
    for name, r in res.items():
        assert [pk.budget for pk in r["picks"]] == list(budgets), name
        assert r["queries"] <= 200 + 4 * len(budgets), (name, r["queries"])  # M + C per budget
        assert r["samples"] > 0 and r["seconds_per_budget"] > 0
    assert all(pk.latency <= pk.budget for pk in res["nag"]["picks"])
