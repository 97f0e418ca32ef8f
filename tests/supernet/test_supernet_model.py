"""The elastic ops and the supernet itself: extraction equality, elasticity, channel sorting, BN
recalibration, analytic MAdds/params, foreign architectures."""

from __future__ import annotations

import pytest
import torch

from nag.spaces import ArchError, MBV3Macro, MBV3Space, NB201Space
from nag.supernet.static import arch_madds, arch_params, build_static
from nag.supernet.supernet import Supernet, recalibrate_bn

MACRO = MBV3Macro(
    width_mult=0.25, input_size=16, in_channels=1, num_classes=10, stem_stride=1, stage_strides=(2, 2)
)


@pytest.fixture
def net() -> Supernet:
    torch.manual_seed(0)
    net = Supernet(MBV3Space(MACRO))
    with torch.no_grad():  # away from the identity transforms and fresh BN of a new net
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    recalibrate_bn(net, torch.randn(64, 1, 16, 16))
    return net


def _archs(net: Supernet) -> list:
    return [net.largest(), net.smallest(), *net.space.sample(6, seed=3, unique=True)]


def test_tiny_space_is_its_own_space():
    space = MBV3Space(MACRO)
    assert space.name == "mbv3-2s" and len(space.decisions) == 18 and space.feature_dim == 48
    assert MBV3Space().name == "mbv3" and len(MBV3Space().decisions) == 45


@pytest.mark.parametrize("sort_first", [False, True])
def test_extracted_subnet_equals_active_path(net, sort_first):
    if sort_first:
        net.sort_channels()
    x = torch.randn(8, 1, 16, 16)
    for arch in _archs(net):
        recalibrate_bn(net, torch.randn(32, 1, 16, 16))  # stats of this very path
        net.set_active(arch)
        net.eval()
        static = net.extract(arch).eval()
        assert not any(type(m).__name__.startswith("Dynamic") for m in static.modules())
        assert (net(x) - static(x)).abs().max().item() < 1e-5, net.space.describe(arch)


def test_sort_channels_preserves_the_largest_network(net):
    net.eval()
    net.set_active(net.largest())
    x = torch.randn(4, 1, 16, 16)
    before = net(x)
    first = net.stages[0][0]
    importance = first.project[0].weight.abs().sum(dim=(0, 2, 3))
    net.sort_channels()
    assert torch.allclose(before, net(x), atol=1e-5)
    after = first.project[0].weight.abs().sum(dim=(0, 2, 3))
    assert torch.allclose(after, importance.sort(descending=True).values)


def test_kernel_elasticity_uses_centre_through_transforms(net):
    dw = net.stages[0][1].depthwise[0]
    with torch.no_grad():
        for t in dw.transforms.values():
            t.copy_(torch.eye(t.shape[0]))
    w7 = dw.filter(16, 7)
    assert w7.shape == (16, 1, 7, 7)
    assert torch.equal(dw.filter(16, 5), w7[:, :, 1:6, 1:6])  # identity transform = plain centre crop
    assert torch.equal(dw.filter(16, 3), w7[:, :, 2:5, 2:5])
    with torch.no_grad():
        dw.transforms["5"].mul_(2.0)
    assert torch.allclose(dw.filter(16, 5), 2 * w7[:, :, 1:6, 1:6])
    assert torch.allclose(dw.filter(16, 3), 2 * w7[:, :, 2:5, 2:5])  # 3x3 comes from the transformed 5x5
    with pytest.raises(ValueError):
        dw.filter(16, 9)


def test_expand_and_depth_elasticity_shapes(net):
    space = net.space
    seen = []
    hooks = [b.register_forward_hook(lambda m, i, o: seen.append(m)) for st in net.stages for b in st]
    for e in (3, 4, 6):
        for d in (2, 3, 4):
            arch = net.uniform(5, e, d)
            net.set_active(arch)
            seen.clear()
            hidden = net.stages[1][1].expand(torch.randn(2, 16, 4, 4))
            assert hidden.shape[1] == {3: 48, 4: 64, 6: 96}[e]  # 16 channels x e, divisible by 8
            net(torch.randn(2, 1, 16, 16))
            assert len(seen) == d * space.num_stages
    for h in hooks:
        h.remove()


def test_bn_recalibration_changes_running_stats(net):
    bn = net.stages[0][0].expand[1]
    before = bn.running_mean.clone()
    net.set_active(net.largest())
    recalibrate_bn(net, 3.0 + torch.randn(32, 1, 16, 16))
    assert not torch.allclose(before, bn.running_mean)
    net.eval()
    recalibrate_bn(net, torch.randn(8, 1, 16, 16))
    assert not net.training


@pytest.mark.parametrize(
    "macro", [MACRO, MBV3Macro(width_mult=0.25, input_size=28, in_channels=1, num_classes=10, stem_stride=1)]
)
def test_analytic_madds_and_params_match_the_built_network(macro):
    space = MBV3Space(macro)
    for arch in space.sample(4, seed=1):
        net = build_static(space, arch).eval()
        madds = [0]

        def hook(m, i, o):
            if isinstance(m, torch.nn.Conv2d):
                madds[0] += o.numel() * m.weight[0].numel()
            elif isinstance(m, torch.nn.Linear):
                madds[0] += m.weight.numel()

        for m in net.modules():
            m.register_forward_hook(hook)
        net(torch.zeros(1, 1, macro.input_size, macro.input_size))
        assert madds[0] == arch_madds(space, arch)
        assert sum(p.numel() for p in net.parameters()) == arch_params(space, arch)


def test_architectures_of_other_spaces_are_refused(net):
    with pytest.raises(ArchError, match="nb201"):
        net.set_active(NB201Space().sample(1, seed=0)[0])
    with pytest.raises(ArchError, match="mbv3"):
        net.set_active(MBV3Space().sample(1, seed=0)[0])  # a 5-stage arch in the 2-stage supernet


def test_folded_batchnorm_keeps_the_function(net):
    from nag.supernet.evaluate import fold_bn

    x = torch.randn(6, 1, 16, 16)
    for arch in _archs(net)[:3]:
        static = net.extract(arch).eval()
        ref = static(x)
        folded = fold_bn(static)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
        assert torch.allclose(ref, folded(x), atol=1e-4)
