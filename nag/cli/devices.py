"""Few-shot device commands: ``nag measure-plan`` (which architectures a new device should measure first)
and ``nag benchmark fewshot`` (a device known from N measurements, judged on its whole true column)."""

from __future__ import annotations

from pathlib import Path

import typer

from nag.cli.common import PARAMS, fail, read_params, user_errors
from nag.spaces.base import Arch

BENCH = Path("data/benchmarks/nb201.csv")


def _picks_and_near_picks(name: str, imported: bool) -> list:
    """Where a measurement most changes the frontier: its picks (under the bound) and near-picks (what the
    generator picks when only the estimate must fit: better networks the bound keeps out), the pair of
    each budget in turn, budgets whose pick sits nearest its budget first (architectures of the space)."""
    import json
    from dataclasses import replace

    from nag.platforms.layout import PlatformLayout
    from nag.serving.engine import Engine

    lay = PlatformLayout.of(name)
    if not imported or not lay.frontier.is_file() or not lay.engine.is_file():
        raise ValueError(f"--next needs an imported device with a frontier ({lay.frontier}): run "
                         f"`dvc repro frontier@{name}` first, or plan with --n")
    rows = sorted(json.loads(lay.frontier.read_text())["frontier"],
                  key=lambda r: abs(r["latency_bound_ms"] / r["budget_ms"] - 1))
    engine = Engine.load(lay.engine)
    near, _ = replace(engine, latency=engine.estimate).choose([r["budget_ms"] for r in rows])
    return [a for r, c in zip(rows, near) for a in (Arch(engine.space.name, tuple(r["tokens"])), c.arch)]


def _nb201_plan(cfg, n: int, seed: int, nxt: int = 0) -> tuple[list[dict], list[str]]:
    """Plan rows (``arch_str``, empty ``latency_ms``) over the cells of an NB201 table. References: the
    table's device columns (a benchmark platform's own hardware left out). An imported device: the cells it
    has not measured; ``nxt``: first its frontier's picks and near-picks not yet measured
    (:func:`_picks_and_near_picks`), then the plan (:func:`nag.fewshot.plan.frontier_plan`, on the table's
    accuracy column ``metric``)."""
    import numpy as np

    from nag.bench.fewshot import reference_matrix
    from nag.fewshot.plan import frontier_plan
    from nag.platforms.kinds import _table
    from nag.platforms.table_device import read_nb201_measurements
    from nag.spaces.nb201 import NB201Space

    space = NB201Space()
    imported = cfg.kind == "imported"
    table = cfg.table if imported else cfg.file
    t = _table(str(table))
    keep = [i for i, a in enumerate(t.archs) if space.sees_input(a)]
    cells, acc = [t.archs[i] for i in keep], t.accuracy(cfg.metric)[keep]
    R, refs = reference_matrix(table, "" if imported else cfg.device, [a.arch_id for a in cells])
    pos = {a.arch_id: i for i, a in enumerate(cells)}
    done = [pos[a] for a in read_nb201_measurements(cfg.file)["arch_id"]] if imported else []
    first: list[int] = []
    if nxt:
        for arch in _picks_and_near_picks(cfg.name, imported):
            i = pos.get(arch.arch_id)
            if i is not None and i not in done and i not in first and len(first) < n:
                first.append(i)
    rest = n - len(first)
    rows = np.concatenate([first, frontier_plan(R, rest, seed, np.array(done + first, dtype=np.int64), acc)
                           if rest else []]).astype(np.int64)
    return [{"arch_str": space.to_string(cells[i]), "latency_ms": ""} for i in rows], refs


def _mbv3_plan(params, name: str, n: int, seed: int, nxt: int = 0) -> tuple[list[dict], list[str]]:
    """Plan rows (OFA ``ks``, ``e``, ``d``, ``resolution``, empty ``latency_ms``) over the dataset's sampled
    architectures, spread over their latency on the OFA reference table's devices (what a few-row device's
    latency is transferred from), at the platform's resolution (default: the table's largest). An imported
    device: never what its file has measured; ``nxt``: first its frontier's picks and near-picks
    (:func:`_picks_and_near_picks`), then the plan (:func:`nag.fewshot.plan.frontier_plan` on the supernet's
    accuracy, ``data/accuracy.parquet``; the spread alone before the accuracy stage has run)."""
    import numpy as np
    import pandas as pd

    from nag.fewshot.plan import frontier_plan
    from nag.latency.predictor import device_features, imagenet_space, read_measurements
    from nag.platforms.layout import ACCURACY, ARCHS, PREPARED
    from nag.platforms.mbv3_device import (
        REFERENCE_TABLE,
        reference_log_latency,
        reference_predictors,
        reference_resolution,
    )
    from nag.supernet.archs import load_archs
    from nag.supernet.data import make_space

    space = make_space(params.supernet, PREPARED)
    _, archs = load_archs(ARCHS, space)
    pc = params.platform(name)
    imported = pc.kind == "imported"
    res = (pc.resolution if imported else 0) or reference_resolution(REFERENCE_TABLE)

    def key(sp, arch) -> tuple:  # the network, whichever space's encoding (inactive slots ignored)
        return sp.canonical_tokens(arch.tokens)

    done: set = set()
    if imported:
        big = imagenet_space()
        m = read_measurements(pc.file, big)
        done = {key(big, m.attrs["archs"][i]) for i in m["arch_id"]}
    first, seen = [], set(done)
    for arch in (_picks_and_near_picks(name, imported) if nxt else []):
        if key(space, arch) not in seen and len(first) < n:
            first.append(arch)
            seen.add(key(space, arch))
    pos = {key(space, a): i for i, a in enumerate(archs)}
    taken = np.array(sorted({pos[k] for k in seen if k in pos}), dtype=np.int64)
    refs, cols = reference_predictors(str(REFERENCE_TABLE), seed)
    X = device_features(archs, np.full(len(archs), res))
    rest = n - len(first)
    acc = None
    if ACCURACY.is_file():
        acc = pd.read_parquet(ACCURACY).set_index("arch_id")["accuracy"].reindex([a.arch_id for a in archs])
        acc = acc.to_numpy(dtype=np.float64) if acc.notna().all() else None  # another sample's: spread only
    plan = frontier_plan(reference_log_latency(cols, X), rest, seed, taken, acc) if rest else []
    out = []
    for arch in first + [archs[i] for i in plan]:
        ofa = space.to_ofa(arch)
        out.append({**{k: " ".join(map(str, ofa[k])) for k in ("ks", "e", "d")}, "resolution": int(res),
                    "latency_ms": ""})
    return out, list(refs)


def register(app: typer.Typer, benchmark_app: typer.Typer) -> None:
    """Add ``measure-plan`` to ``app`` and ``fewshot`` to ``benchmark_app``."""

    @app.command("measure-plan")
    def measure_plan(
        name: str = typer.Option(..., "--platform", "-p",
                                 help="a platform of the space to plan for (not a reference itself)"),
        n: int = typer.Option(10, "--n", help="architectures to measure"),
        nxt: int = typer.Option(0, "--next", help="an imported device with a generator: this many where a "
                                "measurement most changes its picks (then the plan's spread)"),
        seed: int = typer.Option(0),
        out: Path = typer.Option(None, "--out", help="CSV to write (default: print it); an existing file is "
                                 "refused unless --force"),
        kit: Path = typer.Option(None, "--kit", help="write a measurement kit here: the planned networks as "
                                 "ONNX, plan.csv, measure.py and a README for the device's owner"),
        force: bool = typer.Option(False, "--force", help="replace an existing --out file or --kit folder"),
        params: Path = PARAMS,
    ) -> None:
        """Which architectures a new device should measure first: most on the known devices' accuracy-latency
        fronts (where its picks will be), the rest spread over the space (not random), as a measurement file
        with an empty latency_ms column to fill in."""
        import pandas as pd

        from nag.atomic import write_with

        with user_errors(ValueError, KeyError):
            if n < 1 or nxt < 0:
                raise ValueError(f"--n {n} --next {nxt}: ask for at least one architecture (--n >= 1, "
                                 f"--next >= 0)")
            if out is not None:
                if out.exists() and not out.is_file():
                    raise ValueError(f"--out {out} is not a file; give a CSV path")
                if out.exists() and not force:
                    raise ValueError(f"--out {out} already exists; pass --force to replace it")
                if not out.parent.is_dir():
                    raise ValueError(f"--out {out}: folder {out.parent} does not exist; create it first")
                if out.resolve() == params.resolve():
                    raise ValueError(f"--out {out} is the params file; write the plan elsewhere")
            cfg = read_params(params)
            pc = cfg.platform(name)
            n = nxt or n
            rows, refs = (_nb201_plan(pc, n, seed, nxt) if pc.group == "table_platforms"
                          else _mbv3_plan(cfg, name, n, seed, nxt))
        text = pd.DataFrame(rows).to_csv(index=False)
        if kit is not None:
            from nag.kit.build import write_kit

            with user_errors():
                made = write_kit(kit, rows, force)
            typer.echo(f"wrote kit {kit}: {made['models']} ONNX models ({made['bytes'] / 2**20:.1f} MB), "
                       f"plan.csv, measure.py, README.md; on the device: python measure.py, then bring "
                       f"plan.csv back: python -m flows.devices add NAME {kit / 'plan.csv'}", err=True)
            if out is None:
                return
        if out is None:
            typer.echo(text, nl=False)
        else:
            with user_errors():
                write_with(out, lambda tmp: tmp.write_text(text))
            typer.echo(f"wrote {out}: {len(rows)} architectures to measure (references: {', '.join(refs)}); "
                       f"fill in latency_ms and add it: python -m flows.devices add NAME {out}", err=True)

    @benchmark_app.command("fewshot")
    def benchmark_fewshot(
        device: str = typer.Option(..., help="device column (lat_<device>) of the table: its true latency"),
        measured: int = typer.Option(10, help="N: architectures the measurement plan lets it measure"),
        seed: int = typer.Option(0),
        table: Path = typer.Option(BENCH, help="NB201-schema CSV holding the device's true latency"),
        reference: Path = typer.Option(BENCH, help="NB201-schema CSV whose lat_* columns are the known "
                                                    "devices (the device's own hardware left out)"),
        metric: str = typer.Option("acc_cifar10", help="accuracy column"),
        train_size: int = typer.Option(1000, help="M: architectures NAG trains on"),
        latency_only: bool = typer.Option(False, "--latency-only", help="the latency figures, no NAG"),
        space: str = typer.Option("nb201", help="nb201 | mbv3 (an OFA table, e.g. data/benchmarks/"
                                  "ofa_gpu_latency.csv, as --table: latency figures only)"),
        out_dir: Path = typer.Option(Path("reports/benchmarks/fewshot")),
        params: Path = PARAMS,
    ) -> None:
        """A device known from N measurements: transfer latency model figures and NAG on its true latency."""
        from nag.atomic import write_json
        from nag.bench.fewshot import run_fewshot_benchmark

        try:
            with user_errors(KeyError):
                cfg = read_params(params)
                if space == "mbv3":
                    from nag.bench.fewshot import run_fewshot_mbv3

                    if reference != BENCH:  # the OFA table's own other columns are its references
                        raise ValueError(f"--reference {reference}: with --space mbv3 the references are the "
                                         f"other device columns of --table itself; drop --reference")
                    rep = run_fewshot_mbv3(str(table), device, measured, seed, cfg.latency.confidence)
                elif space != "nb201":
                    raise ValueError(f"--space {space!r}: nb201 or mbv3")
                else:
                    rep = run_fewshot_benchmark(cfg, str(table), device, measured, seed, str(reference),
                                                metric, train_size, nag=not latency_only)
        except ValueError as exc:
            fail(exc)
        path = out_dir / (f"mbv3_{device}_n{measured}_s{seed}.json" if space == "mbv3"
                          else f"{device}_{metric}_n{measured}_s{seed}.json")
        write_json(path, rep)
        for how in ("plan", "random"):
            f = rep[f"latency_{how}"]
            typer.echo(f"latency ({how:6s} {measured} rows): Spearman {f['spearman']:.3f}  "
                       f"MAPE {f['mape']:.1f} %  within ±10 % {f['within_10pct']:.0%}  "
                       f"bound coverage {f['bound_coverage']:.0%}  "
                       f"[{f['model']['chosen']}]")
        for key in ("nag_fewshot", "nag_full_column"):
            if key in rep:
                m = rep[key]
                typer.echo(f"{key:16s} regret {m['mean_regret_pp']:.3f} pp  satisfied on true latency "
                           f"{m['satisfaction_rate']:.0%}")
        typer.echo(f"wrote {path}")
