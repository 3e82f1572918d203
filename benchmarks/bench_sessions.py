"""Classroom load: N concurrent sessions against a real ``photospec serve``, without browsers.

Starts ``photospec serve``'s own ``panel serve`` command as a process, waits for its warm-up, then
opens N sessions with Bokeh's Python client (``bokeh.client.pull_session``: each page's document is
built on the server and synced over the websocket, as for a browser), each on its own thread.
When all are open, every session picks a different galaxy at the same moment, by setting the
page address (``?galaxy=ID``) in its synced document, as the browser's back button or a shared
link does. Each session records, from the document patches the server sends it, when its first
samples arrived ("k/64 samples drawn") and when all 64 samples had their properties ("64 samples
with properties"). Printed: p50 and p95 of pick → first samples and pick → 64 samples with
properties, how many sessions completed, the server's RSS (and its peak), and error lines in the
server log.

"before" is the server with each session drawing alone (``PHOTOSPEC_GATHER_MS=0``, 4 sampler
threads), or, with ``--before-tree DIR``, the explorer of another checkout (e.g. the previous
release: ``git archive <commit> | tar -x -C DIR``) served the same way; "after" is this checkout
with its defaults (chunk requests gathered for 20 ms and drawn in one batch), in the same run. Targets: 10 sessions p95 ≤ 2 s to the first samples and ≤ 8 s to
64 samples with properties; 20 sessions all complete, no server-log errors, RSS ≤ 3 GB. Exits
non-zero only when it cannot run.

    .venv/bin/python benchmarks/bench_sessions.py [--sessions 10 20] [--modes before after] [--before-tree DIR]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_soak import client_models, open_page, rss_mb, wait_for_log, wait_for_page  # noqa: E402
from benchmarks.timing import launched, serve_command  # noqa: E402

MODES = {"before": {"PHOTOSPEC_GATHER_MS": "0", "PHOTOSPEC_SAMPLER_WORKERS": "4"}, "after": {}}


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of process ``pid`` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status: no VmHWM")


class Session:
    """One page driven over Bokeh's client protocol: open, pick a galaxy on a signal, time the answers."""

    def __init__(self, url: str, galaxy_id: int, n: int, go: threading.Event, timeout: float):
        self.url, self.galaxy_id, self.n, self.go, self.timeout = url, galaxy_id, n, go, timeout
        self.opened = threading.Event()
        self.t_pick = self.t_first = self.t_final = None
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_change(self, event) -> None:
        new = getattr(event, "new", None)
        if not isinstance(new, str):
            return
        now = time.perf_counter()
        if self.t_first is None and "samples drawn" in new:
            self.t_first = now
        if "samples with properties" in new:
            self.t_first = self.t_first or now
            self.t_final = now
            self.session.close()
        elif "failed" in new or "could not" in new:
            self.error = new[:200]
            self.session.close()

    def _run(self) -> None:
        from panel.models.location import Location

        try:
            self.session = open_page(self.url)
        except Exception as exc:  # reported with the figures
            self.error = f"open: {type(exc).__name__}: {exc}"
            self.opened.set()
            return
        doc = self.session.document
        locations = [m for m in doc.models if isinstance(m, Location)]
        self.opened.set()
        if not locations:
            self.error = "no Location model in the document"
            self.session.close()
            return
        doc.on_change(self._on_change)
        self.go.wait()
        self.t_pick = time.perf_counter()
        locations[0].search = f"?galaxy={self.galaxy_id}&n={self.n}"
        self.session._connection.io_loop.call_later(self.timeout, self.session.close)
        self.session._connection.loop_until_closed()  # applies the server's patches until closed


def run_load(url: str, ids: list[int], n: int, timeout: float) -> list[Session]:
    """Open ``len(ids)`` sessions one after another, then make them all pick at once; wait for their answers."""
    go = threading.Event()
    sessions = [Session(url, g, n, go, timeout) for g in ids]
    for s in sessions:
        s.thread.start()
        s.opened.wait(timeout)
    go.set()
    for s in sessions:
        s.thread.join(timeout + 30)
    return sessions


def galaxy_ids(k: int, seed: int) -> list[int]:
    from explorer.resources import open_light

    cat = open_light(None)
    if cat is None:
        raise SystemExit("bench_sessions: the default mock catalogue is missing (run `make serve` once)")
    ids = cat.ids()
    return [int(g) for g in np.random.default_rng(seed).choice(ids, k, replace=False)]


def tree_command(cmd: list[str], env: dict, tree: Path) -> tuple[list[str], dict, Path]:
    """``cmd`` serving the explorer of the checkout ``tree`` instead of this one (its app, warm-up and code)."""
    here = Path(__import__("explorer").__file__).resolve().parent
    there = tree.resolve() / "explorer"
    if not (there / "served" / "app.py").exists():
        raise SystemExit(f"{tree}: no explorer/served/app.py in this checkout")
    cmd = [str(there / Path(a).resolve().relative_to(here)) if a.startswith(str(here)) else a for a in cmd]
    return cmd, {**env, "PYTHONPATH": str(tree.resolve())}, tree.resolve()


def serve_and_load(mode: str, counts: list[int], n: int, timeout: float, before_tree: Path | None = None) -> list[dict]:
    cmd, env, url = serve_command()
    cwd = ROOT
    if mode == "before" and before_tree is not None:
        cmd, env, cwd = tree_command(cmd, env, before_tree)
    else:
        env.update(MODES[mode])
    rows = []
    with launched(cmd, env, cwd) as (proc, log_path):
        wait_for_page(url, proc, timeout)
        # a client without a browser never reports "page loaded", which a cold server's shell waits for
        # before building the panes: wait until the warm-up has the panes ready (pages are then built whole)
        # and has loaded the model (≤ 20 s later without a visitor's page)
        if not (wait_for_log(log_path, "kernels ready", proc, timeout)
                and wait_for_log(log_path, "property tools ready", proc, timeout)):
            print("warm-up did not report ready in time; measuring anyway", flush=True)
        run_load(url, galaxy_ids(1, 99), n, timeout)  # one galaxy first: the first sampling job's own set-up
        for k, count in enumerate(counts):
            base = rss_mb(proc.pid)
            t0 = time.perf_counter()
            sessions = run_load(url, galaxy_ids(count, k), n, timeout)
            first = [s.t_first - s.t_pick for s in sessions if s.t_first and s.t_pick]
            final = [s.t_final - s.t_pick for s in sessions if s.t_final and s.t_pick]
            text = log_path.read_text(errors="replace")
            rows.append(dict(mode=mode, sessions=count, done=len(final), first=first, final=final,
                             rss=rss_mb(proc.pid), base=base, peak=peak_rss_mb(proc.pid),
                             errors=text.count("Traceback") + text.count(" ERROR"),
                             failures=[s.error for s in sessions if s.error], wall=time.perf_counter() - t0))
            time.sleep(2)
    return rows


def pct(values, q) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[10, 20], help="concurrent sessions per round")
    ap.add_argument("--modes", nargs="+", default=["before", "after"], choices=list(MODES))
    ap.add_argument("--samples", type=int, default=64, help="samples each session asks for")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for a session's answers")
    ap.add_argument("--before-tree", type=Path, help="serve this checkout's explorer as 'before'")
    args = ap.parse_args(argv)
    client_models()
    results = []
    for mode in args.modes:
        for row in serve_and_load(mode, args.sessions, args.samples, args.timeout, args.before_tree):
            results.append(row)
            print(f"{row['mode']:6s} {row['sessions']:3d} sessions: {row['done']}/{row['sessions']} complete; "
                  f"pick → first samples p50 {pct(row['first'], 50):.2f} s, p95 {pct(row['first'], 95):.2f} s; "
                  f"pick → {args.samples} samples with properties p50 {pct(row['final'], 50):.2f} s, "
                  f"p95 {pct(row['final'], 95):.2f} s; server RSS {row['rss']:.0f} MB (peak {row['peak']:.0f} MB); "
                  f"errors in the server log: {row['errors']}" +
                  (f"; failed sessions: {row['failures'][:3]}" if row["failures"] else ""), flush=True)
    by = {(r["mode"], r["sessions"]): r for r in results}
    for count in args.sessions:
        b, a = by.get(("before", count)), by.get(("after", count))
        if b and a and a["final"] and b["final"]:
            print(f"{count} sessions, ratio before/after: first samples p95 "
                  f"{pct(b['first'], 95) / pct(a['first'], 95):.2f}, with properties p95 "
                  f"{pct(b['final'], 95) / pct(a['final'], 95):.2f}")
    print("targets: 10 sessions p95 ≤ 2 s (first samples) and ≤ 8 s (64 with properties); 20 sessions all "
          "complete, no errors, RSS ≤ 3 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
