"""What every ``nag`` subcommand shares: the options, reading params.yaml, resolving a platform from its
files, and the one-line error (every :class:`nag.errors.NagError`: exit code 2)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer

from nag.errors import NagError
from nag.platforms.layout import ARCHS, PREPARED, PlatformLayout

PARAMS = typer.Option(Path("params.yaml"), "--params", help="params file to read")
PLATFORM = typer.Option(..., "--platform", "-p", help="platform name from the params file")
PREPARED_OPT = typer.Option(PREPARED, "--prepared", help="output of the prepare stage")
LATENCY = typer.Option(None, "--latency", help="latency table (default data/latency/<platform>.parquet)")
LATENCY_MODEL = typer.Option(
    None, "--latency-model", help="latency model (default models/latency/<platform>.skops)"
)
EVALUATOR = typer.Option(
    None, "--evaluator", help="evaluator checkpoint (default models/evaluator/<platform>.pt)"
)
GENERATOR = typer.Option(
    None, "--generator", help="generator checkpoint (default models/generator/<platform>.pt)"
)
VALIDATION = typer.Option(None, "--validation",
                          help="the latency's validation report, which must have passed "
                               "(default reports/validation/<platform>.json)")


def read_params(path: Path):
    """params.yaml parsed and checked once (:func:`nag.config.load_params`); sections it lacks take the
    code's defaults, and stderr says which."""
    from nag.config import load_params

    return load_params(path, note=lambda msg: typer.secho(msg, fg=typer.colors.YELLOW, err=True))


def fail(exc: Exception) -> NoReturn:
    """The user's error as one line on stderr, exit code 2."""
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


# OS errors that are the machine's state, not a bug: a full disk, a read-only folder, no permission
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT})


def storage_message(exc: OSError) -> str:
    """One line naming the path and the cause of a storage failure."""
    where = exc.filename or "a file"
    return f"cannot write {where}: {exc.strerror or exc}; free space or fix the folder's permissions, rerun"


@contextmanager
def user_errors(*extra: type[Exception]):
    """Turn the user's errors (:class:`NagError`, and ``extra``) and storage failures (disk full, read-only,
    no permission: :data:`STORAGE_ERRNOS`) into one line and exit code 2."""
    try:
        yield
    except (NagError, *extra) as exc:
        fail(exc)
    except OSError as exc:
        if exc.errno not in STORAGE_ERRNOS:
            raise
        fail(RuntimeError(storage_message(exc)))


def platform(params_path: Path, name: str, prepared: Path = PREPARED, latency: Path | None = None,
             model: Path | None = None, archs: Path = ARCHS, accuracy: Path | None = None,
             validation: Path | None = None):
    """(params, the resolved platform); artifacts default to ``nag.platforms.layout``'s."""
    from nag.platforms import Feasibility, PlatformFiles, resolve
    from nag.platforms.layout import ACCURACY

    params = read_params(params_path)
    lay = PlatformLayout.of(name)
    files = PlatformFiles(prepared, latency or lay.latency, model or lay.latency_model, archs,
                          accuracy or ACCURACY, validation or lay.validation)
    return params, resolve(params.platform(name), params.supernet, files, Feasibility.of(params))


def run_stage(metrics: Path, run: Callable[[], dict], echo: bool = False,
              extra: tuple[type[Exception], ...] = ()) -> dict:
    """Run a stage function, write its metrics JSON (user errors, and ``extra``: one line, exit 2); ``echo``
    prints the scalar metrics."""
    import json

    from nag.atomic import write_json

    with user_errors(*extra):
        result = run()
        write_json(metrics, result)
    if echo:
        typer.echo(json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))}))
    return result
