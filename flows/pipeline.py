"""The ``pipeline`` Prefect flow: the DVC stages as tasks, then tracking, registration and promotion.

1. shared stages (prepare → train_supernet → sample_archs → accuracy, when a supernet-backed platform is
   asked for) and, per platform, latency@ (table@ for a table-backed one) and validate@ — ``dvc repro`` from
   the flow process, one after another (local latency needs a quiet CPU); transient failures are retried, a
   failed validation is not (that platform is left out, the others go on);
2. per-platform training ([arch_dataset@ →] train_evaluator@ → train_generator@ → frontier@) fans out as
   tasks on the task runner — threads, or Dask workers (``orchestration.runner: dask``) — running the
   stages' commands; ``dvc commit`` then records their outputs in dvc.lock;
3. per supernet-backed platform, finetune@ (the generated subnets finetuned, exported, timed) — ``dvc
   repro``, serially, because a local platform measures its exported models;
4. ``flows.register``: MLflow run, model versions, promotion gate, finetuned subnets.

``python -m flows.pipeline`` runs it without a Prefect server (Prefect starts a temporary local one).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from flows import workspace as ws


def _retry_if_transient(task, task_run, state) -> bool:
    """Retry only failures that may pass on a second try (see :class:`flows.workspace.StageFailed`)."""
    try:
        state.result()
    except ws.StageFailed as exc:
        return exc.transient
    except Exception:
        return True
    return False


@task(retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_if_transient)
def repro_task(root: str, targets: list[str]) -> str:
    """``dvc repro`` of ``targets`` in the flow's workspace (never two at once: the flow runs them
    serially)."""
    return ws.repro(Path(root), targets)


@task(retries=2, retry_delay_seconds=10, retry_condition_fn=_retry_if_transient)
def train_platform(root: str, platform: str, commands: dict[str, str]) -> dict:
    """Run one platform's stale training stages (their dvc.yaml commands) in this worker."""
    for stage, cmd in commands.items():
        ws.run_command(Path(root), stage, cmd)
    return {"platform": platform, "stages": list(commands), "pid": os.getpid(), "host": os.uname().nodename}


def task_runner(cfg):
    """The task runner ``orchestration`` asks for."""
    if cfg.runner == "dask":
        from prefect_dask import DaskTaskRunner

        if cfg.scheduler_address:
            return DaskTaskRunner(address=cfg.scheduler_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": cfg.workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            },
        )
    return ThreadPoolTaskRunner(max_workers=cfg.workers)


def run_platforms(root: Path, params, names: list[str], logger) -> tuple[list[dict], dict[str, str]]:
    """Measure and validate each platform (serially), then train the valid ones (fanned out).
    Returns (what each training task reported, {platform: why it was left out})."""
    failed: dict[str, str] = {}
    o = params.orchestration
    measure = repro_task.with_options(retries=o.retries, retry_delay_seconds=o.retry_delay_s)
    groups = {n: params.platform(n).group for n in names}
    for name in names:
        try:
            first, _ = ws.MEASURING[groups[name]]
            measure(str(root), [f"{first}@{name}"])
            repro_task.with_options(retries=0)(str(root), [f"validate@{name}"])
        except ws.StageFailed as exc:
            logger.error(f"{name}: {exc}")
            failed[name] = str(exc).splitlines()[0]
    ok = [n for n in names if n not in failed]
    chains = {n: ws.stale_chain(root, n, groups[n]) for n in ok}
    futures = [
        train_platform.with_options(retries=o.retries, retry_delay_seconds=o.retry_delay_s).submit(
            str(root), n, ws.stage_commands(root, chain)
        )
        for n, chain in chains.items()
        if chain
    ]
    done = []
    for fut in futures:
        try:
            done.append(fut.result())
        except ws.StageFailed as exc:
            failed[exc.stage.split("@")[-1]] = str(exc).splitlines()[0]
    ws.commit(root, [s for d in done for s in d["stages"]])
    for d in done:
        logger.info(f"{d['platform']}: ran {d['stages']} in process {d['pid']} on {d['host']}")
    for name in [n for n in ok if n not in failed]:  # serial: a local platform times its exported models
        try:
            for stage in ws.DELIVERY[groups[name]]:
                measure(str(root), [f"{stage}@{name}"])
        except ws.StageFailed as exc:
            logger.error(f"{name}: {exc}")
            failed[name] = str(exc).splitlines()[0]
    return done, failed


@flow(name="nag-pipeline", log_prints=True)
def pipeline(root: str = ".", params_file: str = "params.yaml", platforms: list[str] | None = None) -> dict:
    """The whole pipeline (or only ``platforms``), then registration and promotion."""
    from flows.register import register_all
    from nag.config import load_params

    logger = get_run_logger()
    base = Path(root).resolve()
    params = load_params(base / params_file)
    names = platforms or [p.name for p in params.platforms]
    for n in names:
        params.platform(n)  # an unknown name fails here, before anything runs
    with ws.workspace_lock(base, params.orchestration.lock_timeout_s):
        o = (
            params.orchestration
        )  # every arch_dataset@ depends on the shared chain (dvc.yaml): bring it up first
        # the whole pipeline, or a supernet-backed platform asked for by name (a table-backed one needs none)
        if not platforms or any(params.platform(n).group == "supernet_platforms" for n in names):
            repro_task.with_options(retries=o.retries, retry_delay_seconds=o.retry_delay_s)(
                str(base), ["accuracy"]
            )
        done, failed = run_platforms(base, params, names, logger)
        registered = [n for n in names if n not in failed]
        summary = register_all(base, params, registered) if registered else {"platforms": []}
    result = {"trained": done, "failed": failed, "registered": summary["platforms"]}
    if failed:
        raise RuntimeError(f"platform(s) {sorted(failed)} failed ({failed}); the others were registered")
    return result


def main(root: Path = typer.Option(Path(".")), params: str = typer.Option("params.yaml"),
         platform: list[str] = typer.Option(None, "--platform", "-p", help="only these platforms")) -> None:
    """Run the pipeline flow (no Prefect server needed)."""
    from nag.config import load_params

    cfg = load_params(root / params)
    result = pipeline.with_options(task_runner=task_runner(cfg.orchestration))(
        str(root), params, platform or None
    )
    for r in result["registered"]:
        typer.echo(
            f"nag-generator-{r['platform']} v{r['version']}: {'champion' if r['promoted'] else 'challenger'}"
            f" — {r['reason']}"
        )


if __name__ == "__main__":
    typer.run(main)
