"""The serving engine's parts against the code they replace: the numpy sampler against the torch generator's
distribution, vectorised canonical tokens, the token-row latency of local (LUT + correction) and imported
(device predictor) models against ``LatencyModel.predict``, the engine file's checks, and generate_many
giving the same picks through token functions as through architecture functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, RidgeCV

from nag.config import InferConfig
from nag.latency.lut import LutCorrection, distinct_blocks
from nag.latency.model import LatencyModel
from nag.latency.predictor import device_features, predict_latency
from nag.method.generator import Generator
from nag.method.infer import generate_many
from nag.method.sampler import Sampler, interpolation_weights
from nag.method.tokens import CellScore, CellValues
from nag.serving.build import device_latency, lut_latency
from nag.serving.engine import Engine, EngineError
from nag.spaces import MBV3Macro, MBV3Space, NB201Space

NB = NB201Space()
FIVE = MBV3Space(MBV3Macro(width_mult=0.25, input_size=28, in_channels=1, num_classes=10, stem_stride=1))


def test_sampler_draws_from_the_generators_distribution():
    torch.manual_seed(0)
    gen = Generator((3, 4, 2), [1.0, 2.0, 3.0], hidden=16, embed_dim=8).eval()
    with torch.no_grad():
        for p in gen.parameters():
            p.mul_(8)  # peaked distributions: a wrong state or gate order shows
    n, budget = 60000, 1.7
    tokens = Sampler.from_generator(gen).sample(np.full(n, budget), np.random.default_rng(0))
    with torch.no_grad():  # the exact joint probability of every sequence, from torch
        emb = gen.budget(torch.tensor([budget]))
        h = c = torch.zeros(1, 16)
        h, c = gen.cell(emb, (h, c))
        p0 = torch.softmax(gen.heads[0](h), 1)[0]
        joint = {}
        for a in range(3):
            h1, c1 = gen.cell(gen.token_embed[0](torch.tensor([a])), (h, c))
            p1 = torch.softmax(gen.heads[1](h1), 1)[0]
            for b in range(4):
                h2, _ = gen.cell(gen.token_embed[1](torch.tensor([b])), (h1, c1))
                p2 = torch.softmax(gen.heads[2](h2), 1)[0]
                for d in range(2):
                    joint[(a, b, d)] = float(p0[a] * p1[b] * p2[d])
    rows, counts = np.unique(tokens, axis=0, return_counts=True)
    seen = {tuple(r): c / n for r, c in zip(rows.tolist(), counts)}
    for seq, p in joint.items():
        tol = 4 * np.sqrt(p * (1 - p) / n) + 1e-4
        assert abs(seen.get(seq, 0.0) - p) < tol, (seq, seen.get(seq, 0.0), p)


def test_sampler_blocks_of_rows_give_the_same_tokens(monkeypatch):
    from nag.method import sampler as sampler_mod

    torch.manual_seed(1)
    gen = Generator((4,) * 12, [1.0, 2.0], hidden=16, embed_dim=8).eval()
    s = Sampler.from_generator(gen)
    budgets = np.linspace(1.0, 2.0, 6000)  # distinct prefixes pass CELL_ROWS after a few steps
    blocked = s.sample(budgets, np.random.default_rng(3))
    assert len(np.unique(blocked[:, :8], axis=0)) > sampler_mod.CELL_ROWS  # the blocked path ran
    monkeypatch.setattr(sampler_mod, "CELL_ROWS", 10**9)
    np.testing.assert_array_equal(blocked, s.sample(budgets, np.random.default_rng(3)))


def test_interpolation_weights():
    w = interpolation_weights(np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.5, 3.0, 4.0, 9.0, 0.5]))
    np.testing.assert_allclose(w, [[1, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0, 1], [0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("space", [NB, FIVE])
def test_canonical_batch_is_canonical_tokens(space):
    rng = np.random.default_rng(0)
    raw = np.stack([rng.integers(0, v, 500) for v in space.vocab_sizes], axis=1)
    want = np.array([space.canonical_tokens(r) for r in raw.tolist()])
    np.testing.assert_array_equal(space.canonical_batch(raw), want)


@pytest.mark.parametrize("kind", ["linear", "ridge", None])
def test_lut_latency_is_the_latency_models(kind):
    rng = np.random.default_rng(1)
    entries = {k: {"latency_ms": float(rng.uniform(0.01, 0.3)), "iqr_ms": 0.0} for k in distinct_blocks(FIVE)}
    entries.update({"stem": {"latency_ms": 0.2, "iqr_ms": 0.0}, "head": {"latency_ms": 0.1, "iqr_ms": 0.0}})
    archs = FIVE.sample(400, seed=2)
    corr = None
    if kind is not None:
        from nag.latency.lut import lut_sums

        corr = LutCorrection(kind, LinearRegression() if kind == "linear" else RidgeCV())
        sums, counts, _ = lut_sums(FIVE, {"entries": entries}, archs)
        y = sums * 1.3 - 0.02 * counts + rng.normal(0, 0.01, 400)
        corr.model.fit(corr.design(FIVE, archs, sums, counts), y)
    model = LatencyModel("p", "local", lut={"entries": entries}, correction=corr)
    tokens = np.array([a.tokens for a in archs])
    got = lut_latency(FIVE, model).on_tokens(tokens)
    np.testing.assert_allclose(got, model.predict(FIVE, archs), rtol=1e-9)


@pytest.mark.parametrize("kind", ["ridge", "gbr"])  # linear: summed from tokens; others: the one-hot matrix
def test_device_latency_is_the_device_predictors(kind):
    from sklearn.ensemble import HistGradientBoostingRegressor

    from nag.latency.predictor import imagenet_space

    space = imagenet_space()
    archs = space.sample(300, seed=3)
    X = device_features(archs, np.full(len(archs), 224))
    y = X @ np.random.default_rng(4).normal(0, 0.1, X.shape[1])
    predictor = RidgeCV() if kind == "ridge" else HistGradientBoostingRegressor(max_iter=20)
    model = LatencyModel("dev", "imported", predictor=predictor.fit(X, y), resolution=224)
    tokens = np.array([a.tokens for a in archs])
    got = device_latency(model).on_tokens(tokens)
    np.testing.assert_allclose(got, predict_latency(model.predictor, archs, 224), rtol=1e-9)


def _engine(tmp_path):
    torch.manual_seed(0)
    gen = Generator(NB.vocab_sizes, [2.0, 4.0, 6.0], hidden=16, embed_dim=8).eval()
    cells = np.array([a.tokens for a in NB.enumerate()])
    lat = 1.0 + (cells >= 2).sum(1) + 0.01 * cells.sum(1)
    acc = 80 + 2 * (cells == 3).sum(1) + 0.1 * cells[:, 0]
    latency = CellValues(NB, cells, lat)
    engine = Engine("p", NB, Sampler.from_generator(gen), InferConfig(pool=256, candidates=8), latency,
                    latency, latency, CellScore(NB, cells, acc + 0.5), None, cells[:0], np.zeros(0),
                    np.zeros(0), 0.0, float(lat.min()), "", {"mode": "bound", "confidence": 0.9},
                    CellValues(NB, cells, acc, np.nan), fingerprint="abc")
    return engine, lat, acc


def test_engine_file_round_trip_and_checks(tmp_path):
    engine, lat, _ = _engine(tmp_path)
    engine.save(tmp_path / "e.skops")
    back = Engine.load(tmp_path / "e.skops", expect="abc")
    a, _ = engine.choose([3.0, 5.5])
    b, q = back.choose([3.0, 5.5])
    assert [c.arch for c in a] == [c.arch for c in b] and all(c.latency <= c.budget for c in b) and q > 0
    with pytest.raises(EngineError, match="other infer"):
        Engine.load(tmp_path / "e.skops", expect="other")
    (tmp_path / "bad.skops").write_bytes((tmp_path / "e.skops").read_bytes()[:500])
    with pytest.raises(EngineError, match="not a readable engine"):
        Engine.load(tmp_path / "bad.skops")
    (tmp_path / "old.skops").write_bytes(b"\x80\x04truncated")
    with pytest.raises(EngineError, match="is a pickle .*dvc repro -f frontier@old"):
        Engine.load(tmp_path / "old.skops")
    with pytest.raises(EngineError, match="missing engine"):
        Engine.load(tmp_path / "none.skops")


def test_token_functions_and_architecture_functions_pick_alike(tmp_path):
    engine, _, _ = _engine(tmp_path)
    budgets = [2.5, 3.5, 5.0]
    fast = engine.choose(budgets)[0]
    lat_fn = lambda archs: engine.latency(archs)  # noqa: E731  (plain callables: the slow path)
    score_fn = lambda archs, b: engine.score(archs)  # noqa: E731
    score_fn.budget_free = score_fn.is_accuracy = True
    slow = generate_many(engine.sampler, NB, budgets, lat_fn, engine.infer, score_fn,
                         lambda archs: engine.accuracy(archs), cheapest=engine.cheapest)
    def key(choices):
        return [(c.arch, c.accuracy, c.n_feasible) for c in choices]

    assert key(fast) == key(slow)
