"""params.yaml sections read by the glue rather than by the stages: the model registry's gate, the
Prefect orchestration, the bounds on requests and measurement files, and the paper's experiments
(benchmarks/paper.py).

Re-exported by :mod:`nag.config`, which parses the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegistryConfig:
    """``registry:`` — the promotion gate of the model registry (flows/registry.py)."""

    grid_points: int = 12  # the fixed evaluation grid: budgets evenly spaced over ...
    grid_lo_pct: float = 5.0  # ... these percentiles of the platform's latency (frozen at the first version)
    grid_hi_pct: float = 95.0
    tolerance_pp: float = 0.1  # mean accuracy may be this much lower than the champion's and still promote
    lock_timeout_s: float = 30.0  # wait this long for another writer of the registry before giving up


@dataclass(frozen=True)
class OrchestrationConfig:
    """``orchestration:`` — the Prefect flows (flows/pipeline.py, flows/new_device.py, flows/serve.py)."""

    runner: str = "local"  # local (threads) | dask (prefect-dask: a LocalCluster, or scheduler_address)
    workers: int = 1  # per-platform training tasks at once (local threads or LocalCluster workers)
    scheduler_address: str = ""  # tcp://host:8786 joins an existing Dask cluster (runner: dask)
    retries: int = 2  # transient failures (a killed process, a busy lock); failed validation is never retried
    retry_delay_s: float = 10.0
    lock_timeout_s: float = 60.0  # a second flow run on this workspace waits this long, then fails clearly
    inbox: str = "data/devices/incoming"  # new device measurement files (*.csv) land here
    settle_s: float = 30.0  # a file modified more recently than this is still being written: next scan
    inbox_cron: str = "0 * * * *"  # hourly inbox scan
    pipeline_cron: str = "0 2 * * *"  # nightly full pipeline


@dataclass(frozen=True)
class ServeConfig:
    """``serve:`` — bounds on one call of the generator model (REST ``/invocations``, ``nag generate``)."""

    max_budgets: int = 1000  # rows (budgets) per request; more is a 400 naming this limit


@dataclass(frozen=True)
class DevicesConfig:
    """``devices:`` — bounds on a device's measurement file (flows/devices.py, the inbox), checked before
    it is parsed."""

    max_file_mb: float = 20.0  # a file larger than this is refused unread
    max_rows: int = 100000  # a file with more data lines than this is refused unparsed


@dataclass(frozen=True)
class PaperConfig:
    """``paper:`` — the paper's experiments against the baselines (benchmarks/paper.py, stage ``paper``)."""

    table: str = "data/benchmarks/nb201.csv"  # NB201-schema table: true accuracy + real device latency
    metric: str = "acc_cifar10"
    devices: tuple[str, ...] = ("pixel3", "gold_6240")  # latency columns lat_<device>
    seeds: tuple[int, ...] = (0, 1, 2)
    n_budgets: int = 5  # test budgets, evenly spaced between these latency percentiles of the table
    budget_lo_pct: float = 10.0
    budget_hi_pct: float = 90.0
    predictor: str = "gbr"  # the accuracy predictor every method scores with (fitted on the same M cells)
    mbv3_platforms: tuple[str, ...] = ()  # mbv3 pipeline platforms searched too (stage paper_mbv3@<p>)
    mbv3_candidates: int = 4  # C on mbv3 platforms: supernet measurements per budget and method
    finetune_seeds: tuple[int, ...] = (0,)  # mbv3: these seeds' picks are finetuned and tested
    ks: tuple[int, ...] = (2, 5, 10, 30)  # Table 5, on the first device at its median-latency budget
    hist_samples: int = 1000  # Figure 3
    workers: int = 2  # (device, seed) jobs in parallel processes
