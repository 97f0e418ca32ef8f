"""What the paper's benchmark scripts share: the methods' names, which table shows which, how our setting
differs from the paper's, and an NB201 device column as a platform. Imports nothing of benchmarks/."""

from __future__ import annotations

NAMES = {
    "nag": "NAG (Pareto dominance, K budgets)",
    "mo_reward": "MO reward (MnasNet, w=-0.07)",
    "absolute_reward": "absolute reward (TuNAS, β=-0.07)",
    "pareto_no_accuracy": "dominance without accuracy (Remark 1)",
    "independent": "repeated independent search",
    "random": "random search",
    "evolution": "evolution (OFA)",
    "nsga2": "NSGA-II (pymoo), once",
}
TABLE2 = ("nag", "mo_reward", "absolute_reward", "pareto_no_accuracy")
TABLE3 = ("nag", "independent", "random", "evolution", "nsga2")
PAPER_NOTE = {
    "nb201": "ours are NAS-Bench-201 CIFAR-10 accuracies with latency measured on real devices "
             "(HELP's tables)",
    "mbv3": "ours are Fashion-MNIST accuracies of subnets of a 0.25-width OFA-style MobileNetV3 supernet "
            "trained "
    "here, with latency measured on this machine",
}


def nb201_platform(table: str, device: str, metric: str):
    """One device column of an NB201-schema table as a benchmark platform."""
    from nag.config import PlatformConfig
    from nag.platforms import resolve

    return resolve(
        PlatformConfig(f"nb201-{device}", kind="benchmark", file=table, device=device, metric=metric)
    )
