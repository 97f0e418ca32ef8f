"""A flow task's retries: a killed worker process is retried, a refused input (exit 2) never is."""

from __future__ import annotations

import pytest
from tiny_project import prefect_harness  # noqa: F401  (the shared Prefect server)

from flows import workspace as ws

pytestmark = pytest.mark.slow


def test_a_killed_worker_process_is_retried(tmp_path, prefect_harness):  # noqa: F811 (the fixture imported above)
    from prefect import flow

    from flows.pipeline import train_platform

    marker = tmp_path / "attempt"
    # the first attempt's process is SIGKILLed mid-task (as the OOM killer would); the retry completes
    cmd = f"if [ ! -f {marker} ]; then touch {marker}; kill -9 $$; fi; echo done > {tmp_path / 'out'}"

    @flow
    def one():
        return train_platform.with_options(retries=1, retry_delay_seconds=0)(
            str(tmp_path), "p", {"stage@p": cmd}
        )

    assert one()["stages"] == ["stage@p"] and (tmp_path / "out").read_text() == "done\n"

    @flow
    def refused():  # exit 2 = the command refused its input: not transient, never retried
        return train_platform.with_options(retries=3, retry_delay_seconds=0)(
            str(tmp_path), "p", {"stage@p": f"echo x >> {tmp_path / 'tries'}; exit 2"})

    with pytest.raises(ws.StageFailed, match="exit 2"):
        refused()
    assert (tmp_path / "tries").read_text().count("x") == 1
