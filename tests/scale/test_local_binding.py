"""The local cluster of ``predict --catalogue`` listens on loopback only, dashboard included."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

import pytest

from model.scale.job import make_job, run_catalogue


def _host(address: str) -> str:
    return urlparse(address if "://" in address else f"tcp://{address}").hostname


def _listening(server) -> list[str]:
    """The hosts a tornado HTTP server's sockets are bound to."""
    return [sock.getsockname()[0] for sock in server._sockets.values()]


@pytest.mark.slow
def test_scheduler_workers_and_dashboard_listen_on_loopback(scale_mock, scale_model, tmp_path):
    from distributed import get_client

    seen = {}

    def inspect(_res):
        if seen:
            return
        client = get_client()
        scheduler = client.cluster.scheduler
        seen["scheduler"] = [_host(a) for a in [scheduler.address]]
        seen["dashboard"] = _listening(scheduler.http_server)
        info = client.scheduler_info()["workers"]
        seen["workers"] = [_host(a) for a in info] + [_host(w["nanny"]) for w in info.values() if w.get("nanny")]

    res = run_catalogue(str(scale_mock), tmp_path / "out", make_job(scale_model, samples=2, seed=0),
                        scheduler="local", workers=1, partition_size=64, progress=False, on_done=inspect)
    assert res.rows == 40 and res.failures == []
    assert seen["dashboard"] and seen["workers"]
    for kind, hosts in seen.items():
        for host in hosts:
            assert ipaddress.ip_address(host).is_loopback, f"{kind} listens on {host}"
    assert _host(res.dashboard).startswith("127.")


@pytest.mark.slow
def test_an_explicit_dashboard_address_is_honoured(scale_mock, scale_model, tmp_path):
    from distributed import get_client

    seen = []
    run_catalogue(str(scale_mock), tmp_path / "out", make_job(scale_model, samples=2, seed=0), scheduler="local",
                  workers=1, progress=False, dashboard_address="0.0.0.0:0",
                  on_done=lambda _res: seen.extend(_listening(get_client().cluster.scheduler.http_server)))
    assert "0.0.0.0" in seen
