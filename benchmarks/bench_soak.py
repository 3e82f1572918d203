"""Soak: open and close many sessions against a real served explorer and watch the server's memory.

Starts ``photospec serve``'s own ``panel serve app.py`` command (same flags, same warm-up) as a
process on a free port, waits until the warm-up has compiled the CMD (so every session builds the
whole page: CMD, cutout, controls, spectra, tabs), then opens ``--sessions`` sessions one after
another with Bokeh's Python client (``bokeh.client.pull_session``: the page's document is built on
the server and sent over the websocket, as for a browser) and closes each. The server's RSS
(``/proc/<pid>/status``) is read after a first batch of ``--warm`` sessions (the baseline: caches
filled), after every block of sessions, and once the closed sessions have expired (Bokeh discards
a closed session after its unused-session lifetime). Target: the RSS after all sessions within
+200 MB of the baseline; the growth per session of the last block is printed with its ratio to
the first block's. Exits non-zero only when it cannot run.

    .venv/bin/python benchmarks/bench_soak.py [--sessions 200] [--catalogue PATH] [--expire-wait 45]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.timing import launched, serve_command  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status: no VmRSS")


def wait_for_page(url: str, proc, timeout: float) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url}: no page after {timeout:.0f} s")


def wait_for_log(log: Path, text: str, proc, timeout: float) -> bool:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout and proc.poll() is None:
        if text in log.read_text(errors="replace"):
            return True
        time.sleep(0.5)
    return False


def client_models() -> None:
    """Register Panel's Bokeh models in this process, so the client can read the pulled documents."""
    import importlib
    import pkgutil

    import panel.models

    for info in pkgutil.iter_modules(panel.models.__path__):
        try:
            importlib.import_module(f"panel.models.{info.name}")
        except ImportError:  # optional dependencies of models the explorer does not use
            pass


def open_page(url: str):
    """A session as a browser opens it: the document built on the server and pulled over the websocket,
    then ``document_ready`` sent back, as BokehJS does once the page is rendered. Panel counts a
    session as connected only after that event: until then it runs no ``onload`` callback and every
    HoloViews refresh re-queues itself on the event loop, which a client without it would leave
    spinning (every session then slows the whole server)."""
    from bokeh.client import pull_session
    from bokeh.document.events import MessageSentEvent
    from bokeh.events import DocumentReady

    session = pull_session(url=url)
    conn = session._connection
    msg = conn._protocol.create("PATCH-DOC", [MessageSentEvent(session.document, "bokeh_event", DocumentReady())])
    conn._loop.run_sync(lambda: conn.send_message(msg))  # sent now, not when the client's loop next runs
    return session


def open_and_close(url: str) -> int:
    """One session opened as a browser does (:func:`open_page`), then closed; the number of document roots."""
    session = open_page(url)
    try:
        n = len(list(session.document.roots))
    finally:
        session.close()
    return n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200, help="sessions to open and close after the warm batch")
    ap.add_argument("--warm", type=int, default=10, help="sessions before the baseline reading")
    ap.add_argument("--block", type=int, default=50, help="sessions between RSS readings")
    ap.add_argument("--catalogue", default=None, help="catalogue to serve (default: the configured one)")
    ap.add_argument("--expire-wait", type=float, default=45.0,
                    help="seconds to wait after the last session for closed sessions to expire")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server and its warm-up")
    args = ap.parse_args(argv)

    client_models()
    cmd, env, url = serve_command(args.catalogue)
    with launched(cmd, env) as (proc, log_path):
        wait_for_page(url, proc, args.timeout)
        open_and_close(url)  # the first session starts the deferred warm-up
        if not wait_for_log(log_path, "property tools ready", proc, args.timeout):
            print("warm-up did not report ready in time; measuring anyway", flush=True)
        t0 = time.perf_counter()
        roots = [open_and_close(url) for _ in range(args.warm)]
        time.sleep(2)
        base = rss_mb(proc.pid)
        print(f"server pid {proc.pid}; {args.warm} warm sessions ({roots[-1]} document roots each), "
              f"{time.perf_counter() - t0:.1f} s; baseline RSS {base:.0f} MB", flush=True)
        readings, done, t_start = [(0, base)], 0, time.perf_counter()
        while done < args.sessions:
            k = min(args.block, args.sessions - done)
            t = time.perf_counter()
            for _ in range(k):
                open_and_close(url)
            done += k
            readings.append((done, rss_mb(proc.pid)))
            print(f"  {done:4d} sessions: RSS {readings[-1][1]:.0f} MB (+{readings[-1][1] - base:.0f}); "
                  f"{(time.perf_counter() - t) / k:.2f} s per session", flush=True)
        elapsed = time.perf_counter() - t_start
        after = readings[-1][1]
        time.sleep(args.expire_wait)
        expired = rss_mb(proc.pid)
        errors = log_path.read_text(errors="replace").count("Traceback")
    first = (readings[1][1] - readings[0][1]) / readings[1][0]
    last = (readings[-1][1] - readings[-2][1]) / (readings[-1][0] - readings[-2][0])
    print(f"{args.sessions} sessions opened and closed in {elapsed:.0f} s ({elapsed / args.sessions:.2f} s each)")
    print(f"server RSS: baseline {base:.0f} MB, after {args.sessions} sessions {after:.0f} MB "
          f"(+{after - base:.0f} MB; target ≤ +200 MB), {args.expire_wait:.0f} s later {expired:.0f} MB "
          f"(+{expired - base:.0f} MB)")
    print(f"growth per session: first block {first:.2f} MB, last block {last:.2f} MB "
          f"(ratio last/first {last / first if first else float('nan'):.2f})")
    print(f"tracebacks in the server log: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
