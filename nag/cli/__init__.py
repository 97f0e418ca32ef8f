"""The ``nag`` command: one subcommand per pipeline stage (:mod:`nag.cli.stages`) and the user's commands
(:mod:`nag.cli.user`). Paths come from the command line (dvc.yaml writes them once; defaults:
:mod:`nag.platforms.layout`), settings from params.yaml, parsed once into :mod:`nag.config` dataclasses.
Imports are lazy: a command loads only what it runs. The top layer: may import every package."""

from __future__ import annotations

import typer

from nag.cli import devices, stages, user
from nag.cli.kit import kit_app

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="NAG: the most accurate architecture that fits a latency budget, per device.")
stages.register(app)
devices.register(app, user.benchmark_app)
user.register(app)
app.add_typer(kit_app, name="kit")


def _end_with_parent(poll_s: float = 1.0) -> None:
    """End this process when the process that started it is gone (``dvc repro`` killed alone): a stage must
    never write its outputs after its parent, and a later ``dvc repro``, have moved on. SIGTERM becomes
    SystemExit, so the atomic writers' ``finally`` blocks remove their temporary files on the way out."""
    import os
    import signal
    import threading
    import time

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    parent = os.getppid()
    if parent <= 1 or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, stop)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="nag-parent-watch", daemon=True).start()


def main() -> None:
    _end_with_parent()
    app()


if __name__ == "__main__":
    main()
