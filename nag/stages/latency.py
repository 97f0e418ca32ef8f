"""The ``latency@<platform>`` stage: a latency for every architecture of the platform's space.

* ``benchmark`` — the table's own latency column (source ``measured``), for the table's cells.
* ``local`` — a per-block LUT for every arch of ``data/archs.parquet``, corrected against
  ``latency.validate_sample`` whole networks measured directly (those rows: ``measured``; the rest: ``lut``),
  all of it timed beside the drift probes and restated on one machine state (:mod:`nag.latency.normalise`).
* ``imported`` — a predictor fitted on the device's measurement file, at the platform's resolution
  (rows the file measured at that resolution: ``measured``; the rest: ``predicted``); under
  :data:`nag.platforms.mbv3_device.OWN_ROWS` rows, latency transferred from the OFA reference table's devices.

Output columns: ``arch_id, latency_ms, source, spread`` (spread: IQR / median of the measurement, the
propagated IQR of the LUT entries for LUT rows, NaN where unknown).

The latency model carries its error model (:mod:`nag.latency.bound`), calibrated per source on rows it
did not fit: the LUT's cross-validated residuals and repeat measurements (local), the predictor's held-out
rows (imported); a benchmark table's values are taken as exact. The metrics keep those rows
(``calibration``) so validate@ can check the bound's coverage; local platforms also keep drift probes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from nag.atomic import write_with
from nag.config import ConfigError, LatencyConfig, PlatformConfig
from nag.data.benchmarks import load_nb201
from nag.latency.bound import ErrorModel, log_residuals
from nag.latency.drift import choose_probes, probe_set
from nag.latency.lut import build_lut, check_lut, lut_sums
from nag.latency.machine import machine_description
from nag.latency.meter import MeterSettings
from nag.latency.model import LatencyModel
from nag.latency.normalise import Normaliser
from nag.latency.predictor import (
    device_features,
    fit_latency_predictor,
    imagenet_space,
    predict_latency,
    read_measurements,
)
from nag.method.plots import plot_latency
from nag.platforms.mbv3_device import OWN_ROWS, REFERENCE_TABLE, fit_transfer_predictor
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.archs import load_archs
from nag.supernet.static import arch_madds, build_static


def _frame(ids, lat, source, spread) -> pd.DataFrame:
    return pd.DataFrame({"arch_id": list(ids), "latency_ms": np.asarray(lat, dtype=np.float64),
                         "source": list(source), "spread": np.asarray(spread, dtype=np.float64)})


def _benchmark(plat: PlatformConfig) -> tuple[pd.DataFrame, dict]:
    table = load_nb201(plat.file)
    lat = table.latency(plat.device)
    df = _frame([a.arch_id for a in table.archs], lat, ["measured"] * len(lat), np.full(len(lat), np.nan))
    return df, {"kind": "benchmark", "device": plat.device, "n_measured": len(df), "calibration": {}}


def _calibration(**rows: tuple[np.ndarray, np.ndarray]) -> dict:
    """Held-out (measured, estimate) rows per source, as the metrics keep them for validate@."""
    return {s: {"measured": [float(v) for v in m], "estimate": [float(v) for v in e]}
            for s, (m, e) in rows.items()}


def _local(plat: PlatformConfig, cfg: LatencyConfig, space: MBV3Space, archs_path):
    df_archs, archs = load_archs(archs_path, space)
    settings = MeterSettings(cfg.warmup, cfg.repeats, cfg.rounds, plat.threads or cfg.threads)
    max_spread = plat.max_spread or cfg.max_spread
    n = min(cfg.validate_sample, len(archs))
    idx = np.sort(np.random.default_rng(cfg.seed).choice(len(archs), n, replace=False))
    # the probes (spread over the sample's MAdds) are timed beside everything the table measures
    pidx = choose_probes(np.array([arch_madds(space, archs[i]) for i in idx], dtype=np.float64), cfg.probes)
    m = space.macro
    shape = (1, m.in_channels, m.input_size, m.input_size)
    norm = Normaliser([(build_static(space, archs[idx[i]]), shape) for i in pidx], plat.runtime, settings)
    lut = build_lut(space, plat.runtime, settings, max_spread=max_spread, normaliser=norm)
    check = check_lut(space, lut, [archs[i] for i in idx], settings, max_spread=max_spread, normaliser=norm)
    sums, counts, iqr = lut_sums(space, lut, archs)
    lat = check["model"].predict(space, archs, sums, counts)
    if (lat <= 0).any():  # a correction that extrapolates below zero is not usable: fall back to the sum
        lat = sums
    spread = iqr / sums
    source = np.array(["lut"] * len(archs), dtype=object)
    corrected = lat[idx].copy()  # what the LUT says of the directly measured networks (for the plot)
    lat[idx] = check["direct_ms"]
    spread[idx] = [r["iqr_ms"] / r["latency_ms"] for r in check["direct"]]
    source[idx] = "measured"
    direct, again = check["direct_ms"], check["again_ms"]
    calib = {"lut": (direct, check["cv_ms"]), "measured": (again, direct[: len(again)])}
    error = ErrorModel({s: log_residuals(*r) for s, r in calib.items()}, {
        "lut": f"{n} networks measured whole, vs the correction cross-validated (5 folds)",
        "measured": f"{len(again)} of them measured again in a later session"})
    probes = probe_set([archs[idx[i]] for i in pidx], norm.baseline, plat.runtime, settings)
    model = LatencyModel(plat.name, "local", lut=lut, correction=check["model"], error=error, probes=probes)
    model.meta["check"] = ((check["direct_ms"], corrected), f"LUT (corrected) vs direct, {n} networks")
    metrics = {"kind": "local", "runtime": plat.runtime, "settings": lut["settings"],
               "lut_build_s": lut["build_s"], "lut_entries": lut["n_entries"], "n_measured": int(n),
               "lut_vs_direct": check["report"], "machine": machine_description(),
               "calibration": _calibration(**calib), "n_probes": len(pidx),
               "machine_drift_during_measurement": {"per_chunk": norm.drifts,
                                                    "median_state_vs_start": lut.get("normalise_scale")}}
    return _frame(df_archs["arch_id"], lat, source, spread), metrics, model


def _imported(
    plat: PlatformConfig, cfg: LatencyConfig, space: MBV3Space, archs_path, default_resolution: int
):
    df_archs, archs = load_archs(archs_path, space)
    m = read_measurements(plat.file, imagenet_space())
    by_id = m.attrs["archs"]
    file_archs = [by_id[i] for i in m["arch_id"]]
    has_res = bool((m["resolution"] > 0).all())
    res = plat.resolution or (int(m["resolution"].max()) if has_res else default_resolution)
    if has_res and not m["resolution"].min() <= res <= m["resolution"].max():
        raise ConfigError(
            f"platform {plat.name!r}: resolution {res} is outside the measured "
            f"{m['resolution'].min()}..{m['resolution'].max()}; set platforms.{plat.name}.resolution"
        )
    X = device_features(file_archs, m["resolution"].to_numpy() if has_res else np.full(len(m), res))
    if len(m) < OWN_ROWS:  # a few rows: transferred from the reference table's devices
        model, report, heldout = fit_transfer_predictor(X, m["latency_ms"].to_numpy(), REFERENCE_TABLE,
                                                        seed=cfg.seed, min_rows=cfg.min_measured)
        held = f"{len(m)} measured rows, each predicted without it ({report['transfer']['validation']})"
    else:
        model, report, heldout = fit_latency_predictor(X, m["latency_ms"].to_numpy(), seed=cfg.seed)
        held = f"{len(heldout[0])} held-out rows of the device's file (20 %)"
    lat = predict_latency(model, archs, res)
    source = np.array(["predicted"] * len(archs), dtype=object)
    spread = np.full(len(archs), np.nan)
    at_res = m[(m["resolution"] == res) | (m["resolution"] == 0)].set_index("arch_id")
    for i, a in enumerate(df_archs["arch_id"]):
        if a in at_res.index:
            lat[i], source[i] = at_res.loc[a, "latency_ms"], "measured"
            if "std_ms" in at_res.columns:
                spread[i] = at_res.loc[a, "std_ms"] / at_res.loc[a, "latency_ms"]
    metrics = {"kind": "imported", "file": plat.file, "file_rows": int(len(m)), "resolution": int(res),
               "file_resolutions": sorted({int(r) for r in m["resolution"]}), "predictor": report,
               "n_measured": int((source == "measured").sum())}
    metrics["calibration"] = _calibration(predicted=heldout)
    error = ErrorModel({"predicted": log_residuals(*heldout)},
                       {"predicted": held,
                        "measured": "the device's own measurements: taken as exact"})
    model = LatencyModel(plat.name, "imported", predictor=model, resolution=int(res), error=error)
    model.meta["check"] = (heldout, f"held-out predictions ({len(heldout[0])} archs, {report['chosen']})")
    return _frame(df_archs["arch_id"], lat, source, spread), metrics, model


def run(plat: PlatformConfig, cfg: LatencyConfig, space: MBV3Space | None, archs_path: str | Path | None,
        out: str | Path, model_path: str | Path | None = None, plot: str | Path | None = None) -> dict:
    """Write ``out`` (parquet) for one platform, (local/imported) its latency model to ``model_path``
    and a histogram (+ check scatter) PNG to ``plot``; returns the stage metrics."""
    model = None
    if plat.kind == "benchmark":
        df, metrics = _benchmark(plat)
        model = LatencyModel(plat.name, "benchmark", error=ErrorModel(
            {}, {"measured": "the table's own values (no repeat spread given): taken as exact"}))
    elif plat.kind == "local":
        df, metrics, model = _local(plat, cfg, space, archs_path)
    else:
        df, metrics, model = _imported(plat, cfg, space, archs_path, space.macro.input_size)
    check = model.meta.pop("check", None) if model is not None else None
    if model is not None and model_path:
        model.save(model_path)
    if plot:
        plot_latency(plot, plat.name, df, *(check if check else (None, "")))
    write_with(out, lambda tmp: df.to_parquet(tmp, index=False))
    lat = df["latency_ms"].to_numpy()
    metrics.update(
        {
            "platform": plat.name,
            "n_archs": int(len(df)),
            "latency_ms": {"min": float(lat.min()), "median": float(np.median(lat)), "max": float(lat.max())},
            "sources": {k: int(v) for k, v in df["source"].value_counts().items()},
        }
    )
    json.dumps(metrics)  # fail here, not in the writer, if anything is not JSON
    return metrics
