"""The mbv3 half of the paper's experiments (``benchmarks/paper.py --mbv3 <platform>``, stage
``paper_mbv3@<platform>``): NAG and the baselines on a pipeline platform of the OFA-style space.

- **Accuracy queries are supernet evaluations** (:class:`nag.supernet.oracle.SupernetOracle`: the subnet's
  accuracy on the validation split, BatchNorm recalibrated, exactly as the ``accuracy`` stage measures),
  so a query costs 2.7–4.5 s on a 2-core CPU and every method gets ``paper.mbv3_candidates`` of them per
  budget.
- Every method starts from the same M-sample of the 16k archs, with the pipeline's accuracy column (its
  supernet-measured rows and the accuracy stage's predictor for the rest) and the same predictor fitted
  on it; latency is the platform's latency table and model (LUT + correction for local platforms).
- **Finetuned accuracy**: the picks of ``paper.finetune_seeds`` are extracted from the supernet and
  finetuned with the ``finetune:`` settings of ``finetune@`` (the same work folder, so models it already
  made are reused), then evaluated on the test split, which no search ever saw.
- What the generators sample (1,000 per budget) is judged by the pipeline's bundled accuracy predictor
  (gbr on the 16k), never by the supernet: that would take 20,000 measurements.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

WORK = Path("data/paper.work")  # the oracle's answers per platform and seed (resume; git-ignored)
SUPERNET = Path("models/supernet.pt")  # dvc.yaml's paths (train_supernet, finetune@)


def _resolve(params, name: str):
    from nag.config import ConfigError
    from nag.platforms import Feasibility, check_validated, resolve

    cfg = params.platform(name)  # an unknown name: ConfigError listing the known ones
    if cfg.kind == "benchmark":
        raise ConfigError(
            f"paper.mbv3_platforms: {name!r} is a benchmark table (NB201 cells), not an mbv3 platform; "
            f"put its device in paper.devices instead"
        )
    # a missing latency table: DataError naming its stage
    plat = resolve(cfg, params.supernet, feasibility=Feasibility.of(params))
    check_validated(name, plat.files.validation)
    return plat


def check_inputs(params, name: str) -> None:
    """Everything the mbv3 half reads, checked before any work starts (a clear error names the stage)."""
    from nag.method.checkpoint import EVALUATOR_FORMAT, load_object

    plat = _resolve(params, name)
    plat.make_dataset(params.dataset)  # archs + accuracy + latency agree
    load_object(f"models/evaluator/{name}.pt", "evaluator", EVALUATOR_FORMAT)
    load_object(SUPERNET, "supernet")


def mbv3_platform(params, name: str, seed: int, work: Path = WORK):
    """(platform whose accuracy is the supernet oracle, the pipeline's predicted-accuracy judge, oracle)."""
    from nag.method.checkpoint import load_evaluator
    from nag.supernet.oracle import SupernetOracle

    plat = _resolve(params, name)
    _, judge, _ = load_evaluator(f"models/evaluator/{name}.pt", plat.space)
    oracle = SupernetOracle.load(plat.space, SUPERNET, plat.files.prepared, params.accuracy,
                                 work / f"{name}-s{seed}.json")
    predicted = lambda archs: np.asarray(judge.predict(plat.space.features_batch(archs)))  # noqa: E731
    return replace(plat, accuracy=oracle), predicted, oracle


def mbv3_params(params):
    """The paper's settings on an mbv3 platform: C = ``paper.mbv3_candidates`` queries per budget."""
    return replace(params, infer=replace(params.infer, candidates=params.paper.mbv3_candidates))


def finetune_job(params_path: str, name: str, tokens: list[list[int]]) -> dict:
    """Extract, evaluate, finetune and evaluate again (test split) each arch; {arch_id: record}."""
    import torch

    from nag.config import load_params
    from nag.delivery.subnets import SubnetSource, subnets_for
    from nag.platforms import Feasibility, resolve

    torch.set_num_threads(1)
    params = load_params(params_path)
    plat = resolve(params.platform(name), params.supernet, feasibility=Feasibility.of(params))
    archs = [plat.space.from_tokens(t) for t in tokens]
    src = SubnetSource.load(plat, SUPERNET, plat.files.prepared, params.finetune)
    made = subnets_for(src, plat, archs, params.finetune, True, Path(f"models/subnets.work/{name}"),
                       progress=False)
    return {a.arch_id: {"test_acc_before": rec["test_acc_before"], "test_acc_after": rec["test_acc_after"]}
            for a, (_, rec) in zip(archs, made)}


def picks_to_finetune(runs: list[dict], seeds) -> dict[str, list[int]]:
    """arch_id -> tokens of every distinct pick of ``seeds`` (all methods, all budgets)."""
    out = {}
    for r in runs:
        if r["seed"] in seeds:
            for m in r["methods"].values():
                for p in m["picks"]:
                    out.setdefault(p["arch"], p["tokens"])
    return out


def finetune_table(runs: list[dict], finetuned: dict, methods, names: dict, seeds) -> tuple[str, dict]:
    """Test accuracy of each method's picks, extracted (BN recalibrated) and finetuned, per budget."""
    rows = [r for r in runs if r["seed"] in seeds]
    budgets = rows[0]["budgets"]
    lines = [
        "## Finetuned subnets — test accuracy of each method's picks",
        "",
        f"The picks of seed(s) {list(seeds)} extracted from the supernet (BN recalibrated) and finetuned "
        "with the finetune@ stage's settings, then evaluated on the Fashion-MNIST test split (no search saw "
        "it): extracted → finetuned (%), mean over those seeds.",
        "",
        "| method | " + " | ".join(f"B={b:.3g} ms" for b in budgets) + " | mean finetuned |",
        "|---" * (len(budgets) + 2) + "|",
    ]
    data = {}
    for m in methods:
        before = np.array(
            [[finetuned[p["arch"]]["test_acc_before"] for p in r["methods"][m]["picks"]] for r in rows]
        )
        after = np.array(
            [[finetuned[p["arch"]]["test_acc_after"] for p in r["methods"][m]["picks"]] for r in rows]
        )
        data[m] = {"before_mean": before.mean(0).tolist(), "after_mean": after.mean(0).tolist(),
                   "mean_before": float(before.mean()), "mean_after": float(after.mean())}
        cells = [f"{b:.2f} → {a:.2f}" for b, a in zip(data[m]["before_mean"], data[m]["after_mean"])]
        lines.append(f"| {names[m]} | " + " | ".join(cells) + f" | {data[m]['mean_after']:.2f} |")
    best = max((m for m in methods if m != "nag"), key=lambda m: data[m]["mean_after"])
    gap = data["nag"]["mean_after"] - data[best]["mean_after"]
    lines += ["", f"NAG minus the best other method ({names[best]}) after finetuning: {gap:+.2f} pp.", ""]
    return "\n".join(lines), {"methods": data, "nag_minus_best_pp": gap, "best_other": best}
