"""params.yaml sections of the mbv3 side: supernet, architecture sample, accuracy, latency.

Re-exported by :mod:`nag.config`, which parses the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhaseConfig:
    """One progressive-shrinking phase: the choices subnets are sampled from, epochs and peak lr."""

    name: str
    epochs: int = 1
    lr: float = 0.05
    kernels: tuple[int, ...] = (7,)
    depths: tuple[int, ...] = (4,)
    expands: tuple[int, ...] = (6,)


DEFAULT_PHASES = (
    PhaseConfig("full", 3, 0.003),
    PhaseConfig("kernel", 1, 0.001, kernels=(3, 5, 7)),
    PhaseConfig("depth-1", 1, 0.001, kernels=(3, 5, 7), depths=(3, 4)),
    PhaseConfig("depth-2", 1, 0.001, kernels=(3, 5, 7), depths=(2, 3, 4)),
    PhaseConfig("expand-1", 1, 0.001, kernels=(3, 5, 7), depths=(2, 3, 4), expands=(4, 6)),
    PhaseConfig("expand-2", 1, 0.001, kernels=(3, 5, 7), depths=(2, 3, 4), expands=(3, 4, 6)),
)


@dataclass(frozen=True)
class SupernetConfig:
    """``supernet:`` — the elastic MobileNetV3 (macro) and its progressive-shrinking schedule."""

    width_mult: float = 0.25
    input_size: int = 28
    stem_stride: int = 1
    stage_strides: tuple[int, ...] = (2, 2, 2, 1, 2)
    dropout: float = 0.1
    batch_size: int = 128  # global: split over the ranks of a distributed run
    images_per_epoch: int = 0  # 0 = the whole train split; otherwise a fresh random subset per epoch
    subnets_per_step: int = 2  # subnets trained per step (sandwich: the largest and smallest among them)
    sampling: str = "random"  # random | sandwich (nag.supernet.sampling)
    distill: bool = False  # in-place distillation: sampled subnets also learn the largest's outputs
    distill_temperature: float = 1.0
    optimizer: str = "adamw"  # adamw | sgd (Nesterov momentum)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    phases: tuple[PhaseConfig, ...] = DEFAULT_PHASES
    calib_images: int = 500  # BN recalibration before any subnet is evaluated
    eval_subnets: int = 20  # random subnets evaluated on the test split at the end
    reference_images: int = 0  # > 0: the smallest subnet also trained alone on this many images (reference)
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch intra-op threads per process (0 = torch's default)
    seed: int = 0


@dataclass(frozen=True)
class ArchsConfig:
    """``archs:`` — the M architectures of the mbv3 dataset."""

    count: int = 16_000
    seed: int = 0


@dataclass(frozen=True)
class AccuracyConfig:
    """``accuracy:`` — supernet-measured accuracy for a subset, a predictor for the rest."""

    measured: int = 160  # archs measured through the supernet (the rest are predicted)
    val_images: int = 0  # 0 = the whole validation split
    calib_images: int = 500
    repeats: int = 30  # measured archs re-evaluated with another calibration batch (noise ceiling)
    predictors: tuple[str, ...] = ("rf", "gbr", "ridge", "mlp")
    batch_size: int = 1000
    checkpoint_every: int = 10  # measured archs between progress saves (resume by arch_id)
    seed: int = 0


@dataclass(frozen=True)
class LatencyConfig:
    """``latency:`` — how local platforms are measured and what validation accepts."""

    warmup: int = 3  # untimed calls before each round
    repeats: int = 20  # timed calls per round
    rounds: int = 5  # rounds interleave all models measured together; estimate = median of round minima
    threads: int = 1  # default threads of local platforms
    validate_sample: int = 200  # whole networks measured directly to check the LUT
    seed: int = 0
    min_measured: int = 10  # imported devices: fewest measured rows (mbv3: at least 100, flows/validate.py)
    max_spread: float = 0.25  # measured rows: IQR / median above this fails validation
    spread_mostly: float = 0.9  # share of measured rows that must be within max_spread
    max_mape: float = 10.0  # LUT or predictor held-out MAPE (%) above this fails validation
    range_ms: tuple[float, float] = (1e-3, 1e5)  # sane latency range
    confidence: float = 0.9  # an estimate's upper bound holds the measured latency with this probability
    coverage_tolerance: float = 0.05  # validation: held-out coverage of the bound >= confidence - this
    probes: int = 8  # local platforms: networks measured with the table and again beside every later timing
    max_drift: float = 0.10  # probes slower/faster than in the table by more than this: the table is stale
    delivery_tries: int = 4  # delivered models over budget as measured: this many picks tried in all


@dataclass(frozen=True)
class FinetuneConfig:
    """``finetune:`` — the generated subnets, extracted from the supernet and trained a little on their
    own."""

    budgets: int = (
        4  # of the K trained budgets, this many (evenly spaced, ends included) get a subnet; 0 = all
    )
    epochs: int = 1
    images_per_epoch: int = 8000  # a seeded random subset of the train split per epoch (0 = all)
    batch_size: int = 128
    lr: float = 0.0005  # AdamW peak lr, cosine to zero over all epochs
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    calib_images: int = 500  # BN recalibration on train images before the "before finetune" evaluation
    onnx_atol: float = 1e-4  # onnxruntime's outputs must equal torch's within this · (1 + |output|)
    onnx_check_images: int = 256  # test images the ONNX check runs on
    threads: int = 0  # torch threads while training (0 = torch's default)
    seed: int = 0
