"""OFA's own files for a subnet of its MobileNetV3 w1.2 space: ``net.config`` (the whole network, block by
block, as once-for-all's ``MobileNetV3.config`` writes it) and ``run.config`` (``image_size``) — what an
OFA user loads, and the layout of OFA's published specialised networks.

Example::

    >>> space = OFASpace()
    >>> arch = space.from_ofa([3] * 20, [4] * 20, [2] * 5, 192)
    >>> net, run = to_ofa_configs(space, arch)
    >>> from_ofa_configs(space, net, run) == arch, len(net["blocks"]), run["image_size"]
    (True, 11, 192)
"""

from __future__ import annotations

import json
from pathlib import Path

from nag.atomic import atomic_path
from nag.errors import NagError
from nag.spaces.base import Arch
from nag.spaces.mbv3 import MAX_DEPTH, make_divisible
from nag.spaces.ofa import OFASpace


class OFAConfigError(NagError, ValueError):
    """A net.config / run.config that is not a network of the space."""


def _conv(cin: int, cout: int, k: int, act: str | None, bn: bool = True, stride: int = 1) -> dict:
    return {"name": "ConvLayer", "kernel_size": k, "stride": stride, "dilation": 1, "groups": 1,
            "bias": False, "has_shuffle": False, "in_channels": cin, "out_channels": cout, "use_bn": bn,
            "act_func": act, "dropout_rate": 0, "ops_order": "weight_bn_act"}


def _block(cin: int, cout: int, k: int, stride: int, e: int, act: str, se: bool) -> dict:
    mid = None if e == 1 else make_divisible(round(cin * e))
    skip = {"name": "IdentityLayer", "in_channels": [cin], "out_channels": [cout], "use_bn": False,
            "act_func": None, "dropout_rate": 0, "ops_order": "weight_bn_act"} \
        if stride == 1 and cin == cout else None
    return {"name": "MobileInvertedResidualBlock",
            "mobile_inverted_conv": {"name": "MBInvertedConvLayer", "in_channels": cin, "out_channels": cout,
                                     "kernel_size": k, "stride": stride, "expand_ratio": e,
                                     "mid_channels": mid, "act_func": act, "use_se": se},
            "shortcut": skip}


def to_ofa_configs(space: OFASpace, arch: Arch, dropout: float = 0.2) -> tuple[dict, dict]:
    """(net.config, run.config) of ``arch`` in OFA's layout."""
    m, stem = space.macro, space.macro.stem_channels
    blocks = [_block(stem, stem, 3, 1, 1, "relu", False)]
    cin = stem
    for s, b, k, e in space.blocks(arch):
        cout = m.stage_channels[s]
        blocks.append(_block(cin, cout, k, m.stage_strides[s] if b == 0 else 1, e, m.stage_acts[s],
                             m.stage_se[s]))
        cin = cout
    fe, last = m.final_expand_channels, m.last_channels
    net = {"name": "MobileNetV3", "bn": {"momentum": 0.1, "eps": 1e-05},
           "first_conv": _conv(3, stem, 3, "h_swish", stride=m.stem_stride), "blocks": blocks,
           "final_expand_layer": _conv(cin, fe, 1, "h_swish"),
           "feature_mix_layer": _conv(fe, last, 1, "h_swish", bn=False),
           "classifier": {"name": "LinearLayer", "in_features": last, "out_features": m.num_classes,
                          "bias": True, "use_bn": False, "act_func": None, "dropout_rate": dropout,
                          "ops_order": "weight_bn_act"}}
    return net, {"image_size": space.resolution(arch)}


def from_ofa_configs(space: OFASpace, net: dict, run: dict) -> Arch:
    """The architecture of an OFA ``net.config`` + ``run.config`` (the fixed stem block is skipped)."""
    try:
        convs = [b["mobile_inverted_conv"] for b in net["blocks"][1:]]
        widths = list(space.macro.stage_channels)
        ks, e, d = [3] * 4 * len(widths), [3] * 4 * len(widths), [0] * len(widths)
        for c in convs:
            s = widths.index(int(c["out_channels"]))
            if d[s] >= MAX_DEPTH:
                raise OFAConfigError(f"stage {s} has more than {MAX_DEPTH} blocks")
            ks[s * MAX_DEPTH + d[s]], e[s * MAX_DEPTH + d[s]] = int(c["kernel_size"]), int(c["expand_ratio"])
            d[s] += 1
        return space.from_ofa(ks, e, d, int(run["image_size"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise OFAConfigError(f"not a network of {space.name} in OFA's net.config layout ({exc})") from None


def read_ofa_folder(space: OFASpace, folder: str | Path) -> Arch:
    """The architecture saved in ``folder/net.config`` and ``folder/run.config``."""
    folder = Path(folder)
    try:
        net = json.loads((folder / "net.config").read_text())
        run = json.loads((folder / "run.config").read_text())
    except (OSError, ValueError) as exc:
        raise OFAConfigError(f"{folder}: needs readable net.config and run.config (JSON): {exc}") from None
    return from_ofa_configs(space, net, run)


def write_ofa_folder(space: OFASpace, arch: Arch, folder: str | Path, card: dict | None = None) -> None:
    """``folder/net.config`` and ``folder/run.config`` (and ``card.json``) written together (a temp folder,
    then renamed: an interrupted write leaves nothing)."""
    net, run = to_ofa_configs(space, arch)
    with atomic_path(folder) as tmp:
        tmp.mkdir()
        (tmp / "net.config").write_text(json.dumps(net, indent=4) + "\n")
        (tmp / "run.config").write_text(json.dumps(run, indent=4) + "\n")
        if card is not None:
            (tmp / "card.json").write_text(json.dumps(card, indent=2) + "\n")


OFA_NET = "ofa_mbv3_d234_e346_k357_w1.2"  # once-for-all's released supernet of this space


def export_ofa(engine, budget: float, out: str | Path, force: bool = False) -> dict:
    """``nag export --format ofa``: the pick ``engine`` (a :class:`~nag.serving.engine.Engine`, the answer
    ``nag generate`` gives) makes for ``budget``, as OFA's ``net.config`` + ``run.config`` and a card with the
    ``set_active_subnet`` arguments that cut it from OFA's released supernet. Returns the card."""
    from nag.delivery.export import check_out

    space = engine.space
    if not isinstance(space, OFASpace):
        raise OFAConfigError(f"platform {engine.platform!r} is not of OFA's ImageNet space ({space.name}): "
                             f"--format ofa is for ofa platforms; export it with --format onnx")
    out = Path(out)
    check_out(out, force)
    choices, queries = engine.choose([budget])
    row = engine.describe(choices[0])
    arch = choices[0].arch
    args = space.body.to_ofa(space.body_arch(arch))
    card = {"format": "ofa", "platform": engine.platform, "budget_ms": float(budget), "arch_id": arch.arch_id,
            "latency_ms": row["latency_ms"], "latency_bound_ms": row["latency_bound_ms"],
            "accuracy": row["accuracy"], "predicted_accuracy": row["predicted_accuracy"],
            "accuracy_is": "OFA's ImageNet top-1 predictor (%), before finetuning",
            "new_queries": queries, "image_size": space.resolution(arch), "set_active_subnet": args,
            "load": (f"from ofa.model_zoo import ofa_net; net = ofa_net('{OFA_NET}', pretrained=True); "
                     f"net.set_active_subnet(ks={args['ks']}, e={args['e']}, d={args['d']}); "
                     f"subnet = net.get_active_subnet(preserve_weight=True)  # at {space.resolution(arch)} px"
                     )}
    write_ofa_folder(space, arch, out, card)
    return card
