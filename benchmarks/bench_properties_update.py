"""Server-side cost of showing a new batch of samples in one session's Properties pane.

One session's pane sits in a Bokeh document, as on a served page after its first load. For
each new batch (64 samples, every property the toolbox returns) the script times what the
server does on the event loop for a pick: empty the pane, apply the batch to it (Python → Bokeh models) and encode
the PATCH-DOC message of the changes (``bokeh.protocol``), and counts the Bokeh models that are
new in the document after the update (each one is sent to the page and laid out there).

- "in place": :class:`explorer.properties.PropertiesView` as it is, which refills the Bokeh
  figures it built once (data sources, ranges, marker positions, table text).
- "rebuild (baseline)": the same pane rebuilt per batch the way it used to be, a HoloViews
  histogram per property plus the BPT overlay swapped into ``pn.pane.HoloViews`` panes, so
  every batch sends new figures; measured in the same run on the same batches.

Prints the median and best time per update of each, their ratio and the new models per update.
Exits non-zero only when it cannot run.

    .venv/bin/python benchmarks/bench_properties_update.py [--updates 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def batch(seed: int, n: int = 64) -> pd.DataFrame:
    """Per-sample properties with the toolbox's columns (values spread like a galaxy's samples)."""
    from explorer.properties import PROPERTIES

    rng = np.random.default_rng(seed)
    centre = {"z": 0.1, "dn4000": 1.5, "log_mstar": 10.5, "sigma_star": 150.0, "metallicity_o3n2": 8.7}
    df = pd.DataFrame({col: centre.get(col, 0.0) + rng.normal(0, 0.1 if col != "sigma_star" else 20, n)
                       for col, _, _ in PROPERTIES})
    df["bpt_class"] = rng.choice(["star-forming", "composite", "seyfert", "liner", "unclassified"], n)
    df["is_agn"] = df["bpt_class"].isin(["composite", "seyfert", "liner"])
    df.attrs["mass_source"] = "catalogue r magnitude"
    return df


def rebuild_pane(state):
    """The pane as it was rebuilt for every batch: (layout, refresh) with HoloViews figures made anew."""
    import panel as pn

    from explorer.plotting import hv
    from explorer.properties import PROPERTIES, bpt_lines

    grid = pn.GridBox(ncols=5, sizing_mode="stretch_width")
    bpt = pn.pane.HoloViews(hv.Curve([]), height=300, width=330, linked_axes=False)
    kw = dict(kdims=["log [N II]/Hα"], vdims=["log [O III]/Hβ"])

    def hist(v, label):
        v = v[np.isfinite(v)]
        pad = 0.05 * (v.max() - v.min())
        freq, edges = np.histogram(v, bins=15, range=(v.min() - pad, v.max() + pad))
        return (hv.Histogram((edges, freq), kdims=[label], vdims=["samples"]).opts(
            color="#4292c6", line_alpha=0, height=150, width=200, toolbar=None, title=label, fontsize={"title": 9})
            * hv.VLine(float(np.median(v))).opts(color="#08306b", line_width=1.5))

    def refresh():
        df = state.properties
        lines = [hv.Curve(xy, **kw) for xy in bpt_lines().values()]
        if df is None:
            bpt.object = hv.Overlay(lines).opts(title="BPT diagram", xlim=(-1.6, 0.6), ylim=(-1.2, 1.5))
            grid.objects = []
            return
        pts = hv.Points(df[["log_nii_ha", "log_oiii_hb"]].to_numpy(), ["log [N II]/Hα", "log [O III]/Hβ"])
        bpt.object = hv.Overlay([*lines, pts]).opts(title="BPT diagram", xlim=(-1.6, 0.6), ylim=(-1.2, 1.5))
        grid.objects = [pn.pane.HoloViews(hist(df[col].to_numpy(float), label), linked_axes=False)
                        for col, label, _ in PROPERTIES]

    return pn.Column(bpt, grid), refresh


def timed_updates(layout, apply, batches):
    """(seconds per update, new Bokeh models) for each batch applied to ``layout`` in its own document."""
    from bokeh.document import Document
    from bokeh.document.events import DocumentPatchedEvent
    from bokeh.protocol import Protocol

    doc = Document()
    doc.add_root(layout.get_root(doc))
    doc.models.flush_synced()  # the page has the document: from now on only changes travel
    events: list = []
    doc.on_change(lambda e: events.append(e) if isinstance(e, DocumentPatchedEvent) else None)
    protocol = Protocol()
    times, new = [], []
    for df in batches:
        events.clear()
        before = {m.id for m in doc.models}
        t = time.perf_counter()
        apply(df)
        if events:
            protocol.create("PATCH-DOC", list(events)).content_json
        times.append(time.perf_counter() - t)
        new.append(len({m.id for m in doc.models} - before))
    return times, new


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=20, help="batches applied to each pane (after 2 warm-up ones)")
    args = ap.parse_args(argv)
    import panel as pn

    from explorer.properties import PropertiesView
    from explorer.state import ExplorerState

    batches = [batch(s) for s in range(args.updates + 2)]
    state = ExplorerState(row={"z": 0.1, "dn4000": 1.5})
    view = PropertiesView(state)

    def pick(df):  # a pick empties the pane while the new galaxy is drawn, then shows its batch
        state.properties = None
        state.properties = df

    new_t, new_b = timed_updates(pn.panel(view), pick, batches)

    old_state = ExplorerState(row={"z": 0.1, "dn4000": 1.5})
    layout, refresh = rebuild_pane(old_state)

    def rebuild(df):
        for value in (None, df):
            old_state.properties = value
            refresh()

    old_t, old_b = timed_updates(layout, rebuild, batches)
    new_t, old_t = new_t[2:], old_t[2:]  # the first two batches warm both paths up
    med_new, med_old = statistics.median(new_t), statistics.median(old_t)
    print(f"Properties pane, one pick in one session (emptied, then a batch of 64 samples; {args.updates} picks):")
    print(f"  in place            : median {1e3 * med_new:7.1f} ms, best {1e3 * min(new_t):7.1f} ms, "
          f"new Bokeh models {statistics.median(new_b[2:]):5.0f}")
    print(f"  rebuild (baseline)  : median {1e3 * med_old:7.1f} ms, best {1e3 * min(old_t):7.1f} ms, "
          f"new Bokeh models {statistics.median(old_b[2:]):5.0f}")
    print(f"  ratio rebuild / in place: {med_old / med_new:.1f}× (median), {min(old_t) / min(new_t):.1f}× (best)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
