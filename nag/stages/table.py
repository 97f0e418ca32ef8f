"""The ``table@<p>`` stage (table-backed platforms): everything a benchmark table gives a platform, from the
table alone — its latency column for every cell (with the table's latency model: nothing outside the table
is feasible) and the seeded M-sample architecture dataset (cells that see their input only). An imported
NAS-Bench-201 device's latency is its own measurements and, for every other cell, the transfer model's
prediction from the table's devices (:mod:`nag.platforms.table_device`); its dataset is judged by the bound.
An ``ofa`` platform's M architectures are sampled from OFA's ImageNet space (``archs:`` count and seed) and
timed by the device's lookup tables (:mod:`nag.platforms.ofa`); its accuracy is OFA's predictor.
No supernet, nothing measured here; validate@ then checks the latency before train_evaluator@ uses it.
"""

from __future__ import annotations

from pathlib import Path

from nag.config import Params, PlatformConfig
from nag.platforms import Feasibility, PlatformFiles, resolve
from nag.platforms.layout import PREPARED
from nag.stages import latency


def run(params: Params, plat: PlatformConfig, latency_out: str | Path, model_out: str | Path,
        dataset_out: str | Path, plot: str | Path | None = None) -> dict:
    """Write the latency table, latency model, dataset (and a latency histogram); returns the metrics
    (the latency figures, and the dataset's under ``dataset``)."""
    if plat.kind == "imported":
        metrics = _imported(plat, params, latency_out, model_out, plot)
    elif plat.kind == "ofa":
        metrics = _ofa(plat, params, latency_out, model_out, plot)
    else:
        metrics = latency.run(plat, params.latency, None, None, latency_out, model_out, plot)
    files = PlatformFiles(Path(PREPARED), Path(latency_out), Path(model_out))  # what latency.run just wrote
    data, _ = resolve(plat, files=files, feasibility=Feasibility.of(params)).make_dataset(params.dataset)
    data.save(dataset_out)
    metrics["dataset"] = {"n_archs": len(data), "seed": params.dataset.seed,
                          "accuracy_mean": float(data.acc.mean()), "accuracy_max": float(data.acc.max()),
                          "latency_min_ms": float(data.lat.min()), "latency_max_ms": float(data.lat.max())}
    return metrics


def _imported(plat: PlatformConfig, params: Params, latency_out, model_out, plot) -> dict:
    """An imported NAS-Bench-201 device: its measurements, the rest transferred from the table's devices;
    writes the latency table, its latency model (the error model) and the plot."""
    import numpy as np

    from nag.atomic import write_with
    from nag.data.benchmarks import load_nb201
    from nag.latency.model import LatencyModel
    from nag.method.plots import plot_latency
    from nag.platforms.table_device import fit_table_device, read_nb201_measurements

    m = read_nb201_measurements(plat.file)
    cfg = params.latency
    df, metrics, error = fit_table_device(plat.name, m, load_nb201(plat.table), cfg.seed, cfg.min_measured)
    LatencyModel(plat.name, "imported", error=error, meta={"space": "nb201"}).save(model_out)
    cal = metrics["calibration"]["predicted"]
    if plot:
        plot_latency(plot, plat.name, df, (np.array(cal["measured"]), np.array(cal["estimate"])),
                     f"measured rows, each predicted without it ({len(m)} archs, transfer)")
    write_with(latency_out, lambda tmp: df.to_parquet(tmp, index=False))
    lat = df["latency_ms"].to_numpy()
    metrics.update({"platform": plat.name, "file": plat.file, "table": plat.table, "n_archs": int(len(df)),
                    "latency_ms": {"min": float(lat.min()), "median": float(np.median(lat)),
                                   "max": float(lat.max())},
                    "sources": {k: int(v) for k, v in df["source"].value_counts().items()}})
    return metrics


def _ofa(plat: PlatformConfig, params: Params, latency_out, model_out, plot) -> dict:
    """An OFA ImageNet platform: ``archs.count`` architectures sampled (``archs.seed``), their lookup-table
    latency (with their tokens, which later stages read back), the tables as its latency model."""
    import numpy as np

    from nag.atomic import write_with
    from nag.latency.bound import ErrorModel
    from nag.latency.model import LatencyModel
    from nag.method.plots import plot_latency
    from nag.platforms.ofa import ofa_platform

    p = ofa_platform(plat, n_archs=params.archs.count, seed=params.archs.seed)
    df = p.latency_frame()
    exact = {"lut": "the sum of the device's per-layer lookup-table means: exact by construction"}
    LatencyModel(plat.name, "ofa", predictor=p.latency_fn, error=ErrorModel({}, exact),
                 meta={"space": p.space.name, "lut": plat.file}).save(model_out)
    if plot:
        plot_latency(plot, plat.name, df, None, "")
    write_with(latency_out, lambda tmp: df.to_parquet(tmp, index=False))
    lat = df["latency_ms"].to_numpy()
    return {"kind": "ofa", "platform": plat.name, "file": plat.file, "space": p.space.name,
            "n_archs": int(len(df)), "calibration": {}, "cheapest_ms": float(p.cheapest),
            "latency_ms": {"min": float(lat.min()), "median": float(np.median(lat)), "max": float(lat.max())},
            "sources": {"lut": int(len(df))}}
