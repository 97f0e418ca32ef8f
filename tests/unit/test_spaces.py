from __future__ import annotations

import numpy as np
import pytest

from nag.spaces import ArchError, MBV3Space, NB201Space, get_space
from nag.spaces.base import Arch


@pytest.fixture(params=["mbv3", "nb201"])
def space(request):
    return get_space(request.param)


def test_space_shapes():
    mb, nb = MBV3Space(), NB201Space()
    assert mb.num_decisions == 45 and mb.feature_dim == 120
    assert nb.num_decisions == 6 and nb.feature_dim == 30
    assert nb.size() == 15_625 == len(list(nb.enumerate()))
    assert mb.size() == (9**2 + 9**3 + 9**4) ** 5


def test_round_trips(space):
    for arch in space.sample(200, seed=1):
        assert space.from_tokens(space.to_tokens(arch)) == arch
        f = space.features(arch)
        assert f.shape == (space.feature_dim,) and set(np.unique(f)) <= {0.0, 1.0}
    feats = space.features_batch(space.sample(50, seed=2))
    assert feats.shape == (50, space.feature_dim)


def test_features_identify_archs(space):
    archs = space.sample(300, seed=3, unique=True)
    feats = {space.features(a).tobytes() for a in archs}
    assert len(feats) == len(archs)


def test_mbv3_canonicalisation():
    space = MBV3Space()
    # stage 0 at depth 2: slots 2 and 3 are inactive; changing them must not change the network
    a = space.from_ofa(ks=[7] * 20, e=[6] * 20, d=[2, 4, 4, 4, 4])
    ks = [7] * 20
    ks[2], ks[3] = 3, 5
    b = space.from_ofa(ks=ks, e=[6] * 20, d=[2, 4, 4, 4, 4])
    assert a == b and a.arch_id == b.arch_id
    raw = list(a.tokens)
    raw[1 + 2 * 3] = 2  # kernel of an inactive slot
    assert space.from_tokens(raw).arch_id == a.arch_id
    assert space.features(a).sum() == 2 * (2 + 4 * 4)
    c = space.from_ofa(ks=ks, e=[6] * 20, d=[3, 4, 4, 4, 4])
    assert c.arch_id != a.arch_id
    assert space.to_ofa(a)["d"] == [2, 4, 4, 4, 4]
    assert len(space.blocks(a)) == 18


def test_mbv3_rejects_foreign_values():
    space = MBV3Space()
    with pytest.raises(ArchError, match="outside"):
        space.from_ofa(ks=[9] * 20, e=[6] * 20, d=[4] * 5)
    with pytest.raises(ArchError, match="20 kernel"):
        space.from_ofa(ks=[3] * 19, e=[6] * 20, d=[4] * 5)
    with pytest.raises(ArchError, match="tokens"):
        space.from_tokens([0] * 44)
    with pytest.raises(ArchError, match="out of range"):
        space.from_tokens([5] + [0] * 44)
    with pytest.raises(ArchError, match="space"):
        space.check(NB201Space().sample(1)[0])
    with pytest.raises(ArchError, match="canonical"):
        space.check(Arch("mbv3", (0,) + (2,) * 44))


def test_sampling_is_seeded_and_unique(space):
    a = space.sample(500, seed=7, unique=True)
    b = space.sample(500, seed=7, unique=True)
    c = space.sample(500, seed=8, unique=True)
    assert a == b and a != c
    assert len({x.arch_id for x in a}) == 500


def test_sample_more_than_space():
    with pytest.raises(ValueError, match="unique"):
        NB201Space().sample(15_626, unique=True)
    assert len(NB201Space().sample(15_625, seed=0, unique=True)) == 15_625


def test_mutate_and_crossover(space):
    rng = np.random.default_rng(0)
    a, b = space.sample(2, seed=11, unique=True)
    assert space.mutate(a, 0.0, rng) == a
    moved = [space.mutate(a, 1.0, rng) for _ in range(20)]
    assert any(m != a for m in moved)
    for m in moved:
        space.check(m)
    child = space.crossover(a, b, rng)
    space.check(child)
    for i, t in enumerate(child.tokens):
        # every active token comes from one of the parents (canonicalisation may reset inactive ones)
        assert t in (a.tokens[i], b.tokens[i], 0)


def test_nb201_string_round_trip_all(nb201_table):
    space = NB201Space()
    for text, arch in zip(nb201_table.frame["arch_str"], nb201_table.archs):
        assert space.to_string(arch) == text
        assert space.parse(text) == arch
    assert len({a.arch_id for a in nb201_table.archs}) == 15_625


@pytest.mark.parametrize(
    "bad",
    [
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|",
        "|conv_9x9~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|",
        "|none~1|+|none~0|skip_connect~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|+|none~0|none~1|none~2|",
    ],
)
def test_nb201_rejects_bad_strings(bad):
    with pytest.raises(ArchError):
        NB201Space().parse(bad)


def test_get_space_unknown():
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("resnet")


def test_vectorised_features_match(space):
    rng = np.random.default_rng(5)
    raw = np.array([space.random_tokens(rng) for _ in range(100)])
    slow = np.stack([space.features(space.from_tokens(t)) for t in raw])
    np.testing.assert_array_equal(space.features_from_tokens(raw), slow)


def test_linear_from_tokens_is_the_one_hot_product():
    space = MBV3Space()
    rng = np.random.default_rng(6)
    raw = np.array([space.random_tokens(rng) for _ in range(300)])
    coef = rng.normal(size=space.feature_dim)
    want = space.features_from_tokens(raw).astype(np.float64) @ coef
    np.testing.assert_allclose(space.linear_from_tokens(raw, coef), want, rtol=1e-12, atol=1e-12)
