"""A worker of a 2-worker LocalCluster is killed mid-run; the job still writes every galaxy exactly once."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from model.scale.job import make_job, run_catalogue


async def _die() -> None:
    """Run on a worker's event loop: the process ends at once, mid-task, like a crashed node."""
    os._exit(1)


@pytest.mark.slow
def test_killing_a_busy_worker_loses_and_duplicates_nothing(scale_mock, scale_model, tmp_path):
    from distributed import Client, LocalCluster

    job = make_job(scale_model, samples=4, seed=2)
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        def kill_a_busy_worker(res):
            if killed:
                return
            busy = [addr for addr, keys in client.processing().items() if keys]
            assert busy, "no worker was running a partition when the first one finished"
            killed.append(busy[0])
            client.run(_die, workers=[busy[0]], wait=False)

        # one client in this process (a second one, on its own event loop, made Dask's shutdown of the
        # killed worker's task race between the two loops now and then); it runs the job and the killing
        res = run_catalogue(str(scale_mock), tmp_path / "out", job, client=client, progress=False,
                            dashboard=False, on_done=kill_a_busy_worker)
        assert killed and killed[0] not in client.scheduler_info()["workers"]
    assert res.failures == [] and res.rows == 40 and sorted(res.done) == [f"part-{k:05d}" for k in range(4)]
    df = pd.read_parquet(tmp_path / "out")
    assert sorted(df["galaxy_id"]) == list(range(40))  # every galaxy exactly once
    assert not list((tmp_path / "out").glob(".*.tmp"))
