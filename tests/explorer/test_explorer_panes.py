"""Logic of every pane without a browser: CMD, cutout, spectra, properties, controller, export, upload."""

from __future__ import annotations

import io

import warnings

import numpy as np
import pandas as pd
import panel as pn
import pytest

from explorer.cmd import CMDView
from explorer.controller import SamplingController
from explorer.cutout import CutoutView, asinh_band, lupton_rgb
from explorer.export import csv_text, fits_bytes, spectra_png
from explorer.properties import PropertiesView, agn_probability, summarise
from explorer.sampler import SamplerPool, SharedPredictor
from explorer.spectra import EMISSION, SpectraView, display_frame, line_positions, nan_percentiles
from explorer.state import ExplorerState
from explorer.upload import UploadView
from tests.explorer.fakes import WAVE, Z0, FakePredictor, fake_cutout, make_table


class Cat:
    """Wraps a test Catalogue with images and truth (what a mock catalogue provides)."""

    def __init__(self, catalogue):
        self._c = catalogue

    def __getattr__(self, k):
        return getattr(self._c, k)

    def cutout(self, gid):
        return fake_cutout(int(gid))

    def true_spectrum(self, gid):
        from model.data.spectrum import Spectrum

        return Spectrum(WAVE, np.ones(WAVE.size), z=Z0)


def run(controller):
    """Start sampling and wait for the worker (no server: results apply directly)."""
    fut = controller.jobs.start()
    fut.result(timeout=120)


def test_cmd_pick_hover_select(catalogue):
    state = ExplorerState()
    view = CMDView(catalogue, state)
    df = catalogue.df
    gid = view.pick_at(float(df.u_r.iloc[3]), float(df.abs_mag_r.iloc[3]), (0, 4), (-24, -18))
    assert state.galaxy_id == gid == df.galaxy_id.iloc[3]
    assert f"#{gid}" in view.describe_near(float(df.u_r.iloc[3]), float(df.abs_mag_r.iloc[3]))
    view.select_box((2.0, -23.0, 3.0, -21.0))
    assert state.selection.dtype == bool and 0 < state.selection.sum() < len(df)
    view.select_lasso([2.0, 3.0, 2.5], [-23.0, -23.0, -21.0])
    assert 0 < state.selection.sum() < len(df)
    view.select_box(None)
    assert state.selection is None
    view.colour = "z"
    assert type(view.aggregator()).__name__ == "mean"
    view.colour = "bpt_class"
    assert type(view.aggregator()).__name__ == "count_cat"
    assert "sigma_star" not in view.param.colour.objects  # only columns the table has


def test_cutout_rgb_and_bands():
    state = ExplorerState()
    view = CutoutView(state)
    assert view.rendered() is None
    state.image = fake_cutout()
    rgb = view.rendered()
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb[32, 32].sum() > rgb[2, 2].sum()  # bright centre
    view.mode = "r"
    band = view.rendered()
    assert band.shape == (64, 64) and 0 <= band.min() and band.max() <= 1
    with pytest.raises(ValueError):
        lupton_rgb(fake_cutout(), "irx")
    zb = asinh_band(fake_cutout(), "z")
    assert zb[32, 32] == zb.max() and zb[0, 0] < 0.5


def test_cutout_figure_shows_the_picture_in_place():
    state = ExplorerState()
    view = CutoutView(state)
    fig, n_models = view._fig, len(list(view._fig.references()))
    shown = lambda: view._source.data["image"][0].view(np.uint8).reshape(64, 64, 4)  # noqa: E731
    assert shown()[..., :3].max() == 0 and fig.title.text == "no galaxy picked"  # black until a pick
    state.param.update(source="catalogue galaxy #7", image=fake_cutout())
    np.testing.assert_array_equal(shown()[..., :3], view.rendered())  # row 0 drawn at the bottom, as in the FITS
    assert fig.title.text == "catalogue galaxy #7" and (shown()[..., 3] == 255).all()
    view.mode = "g"
    grey = shown()
    assert (grey[..., 0] == grey[..., 1]).all() and grey[32, 32, 0] == 255
    assert view._fig is fig and len(list(fig.references())) == n_models  # refilled, not rebuilt


def test_spectra_bands_frames_and_lines():
    pred = FakePredictor().sample(fake_cutout(), n=32)
    state = ExplorerState(prediction=pred)
    view = SpectraView(state)
    c = view.curves()
    assert c["n"] == 32 and c["z"] == pytest.approx(Z0, abs=0.002)
    b = c["bands"]
    assert np.all(b["p2"] <= b["p16"] + 1e-9) and np.all(b["p16"] <= b["median"] + 1e-9)
    assert np.all(b["median"] <= b["p84"] + 1e-9) and np.all(b["p84"] <= b["p97"] + 1e-9)
    halpha_obs = EMISSION["Hα"] * (1 + c["z"])
    assert any(name == "Hα" and w == pytest.approx(halpha_obs) for name, w, _ in c["lines"])
    view.frame = "rest"
    c = view.curves()
    # in the rest frame the Hα peak of the median sits at 6564.6 Å
    w, med = c["wave"], c["bands"]["median"]
    sel = (w > 6540) & (w < 6575)
    assert w[sel][np.nanargmax(med[sel])] == pytest.approx(6564.6, abs=1.5)
    view.region = "Hα + [N II]"
    lo, hi = view.curves()["xlim"]
    assert lo < 6564.6 < hi and hi - lo < 300
    assert {n for n, *_ in view.curves()["lines"]} >= {"Hα", "[N II]"}
    assert line_positions(0.1, "observed", (3000, 3500)) == []
    wave, flux = display_frame(WAVE, pred.flux, pred.z, "observed")
    assert flux is not None and wave is WAVE or np.array_equal(wave, WAVE)
    view.traces = True
    shown = view.layers()
    assert len(shown["data"]["traces"]["xs"]) == 32 and len(shown["data"]["truth"]["x"]) == 0  # no truth
    lo, hi = shown["xlim"]
    assert np.all((shown["data"]["median"]["x"] >= lo) & (shown["data"]["median"]["x"] <= hi))


def test_spectra_figure_is_refilled_not_rebuilt():
    state = ExplorerState()
    view = SpectraView(state)
    fig, n_models = view._fig, len(list(view._fig.references()))
    legend = {item.name: item for item in fig.legend[0].items}
    assert fig.title.text.startswith("spectra: pick") and not any(i.visible for i in legend.values())
    for n in (16, 32):
        state.prediction = FakePredictor().sample(fake_cutout(), n=n)
        assert view._fig is fig and len(list(fig.references())) == n_models  # same figure, no new models
        assert fig.title.text.startswith(f"{n} samples")
        assert len(view._sources["median"].data["x"]) > 100 and legend["median"].visible
        assert not legend["traces"].visible and not legend["truth"].visible
    view.region = "Hα + [N II]"
    assert fig.x_range.end - fig.x_range.start < 300 and "Hα" in list(view._sources["marks"].data["text"])
    b = view._sources["band95"].data
    assert fig.y_range.start <= np.min(b["lo"]) and np.max(b["hi"]) <= fig.y_range.end
    view.show_lines = False
    assert len(view._sources["marks"].data["x"]) == 0
    state.prediction = None
    assert fig.title.text.startswith("spectra: pick") and len(view._sources["median"].data["x"]) == 0


def test_nan_percentiles_match_numpy():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(40, 300))
    v[:7, :50] = np.nan
    v[:, 290:] = np.nan  # columns with no value at all
    v[:39, 200] = np.nan  # a column with one value
    q = [2.5, 16, 50, 84, 97.5]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanpercentile(v, q, axis=0)
    np.testing.assert_allclose(nan_percentiles(v, q), expected, equal_nan=True)
    np.testing.assert_allclose(nan_percentiles(v[7:, :40], q), np.percentile(v[7:, :40], q, axis=0))  # no NaN


def test_controller_streams_then_properties(catalogue):
    state = ExplorerState()
    fake = FakePredictor()
    ctl = SamplingController(state, Cat(catalogue), SharedPredictor(lambda: fake), chunk=8)
    seen = []
    state.param.watch(lambda e: seen.append(None if e.new is None else len(e.new.flux)), "prediction")
    ctl.jobs.auto = False
    ctl.jobs.load_galaxy(105)
    state.n_samples = 24
    run(ctl)
    assert [s for s in seen if s] == [8, 16, 24]  # cumulative chunks arrive in order
    assert state.progress == 100 and not state.busy
    props = state.properties
    assert len(props) == 24 and props["is_best"].sum() == 1
    assert props["z"].median() == pytest.approx(Z0, abs=0.003)
    assert state.truth is not None and state.row["galaxy_id"] == 105


def test_controller_reports_errors(catalogue):
    state = ExplorerState()
    messages = []
    ctl = SamplingController(state, Cat(catalogue), SharedPredictor(lambda: (_ for _ in ()).throw(
        __import__("model.errors", fromlist=["PhotospecError"]).PhotospecError("checkpoint missing"))),
        notify=lambda level, text: messages.append((level, text)))
    ctl.jobs.auto = False
    assert ctl.jobs.start() is None and messages[-1][0] == "warning"  # no image yet
    state.image = fake_cutout()
    run(ctl)
    assert messages[-1] == ("error", "checkpoint missing") and not state.busy


def test_five_sessions_share_one_model_and_all_get_spectra(catalogue):
    fake = FakePredictor(delay=0.02)
    shared = SharedPredictor(lambda: fake)
    states, futures = [], []
    for k in range(5):
        st = ExplorerState(n_samples=32)
        ctl = SamplingController(st, Cat(catalogue), shared, chunk=16)
        ctl.jobs.auto = False
        st.image = fake_cutout(k)
        futures.append(ctl.jobs.start())
        states.append(st)
    for f in futures:
        f.result(timeout=300)
    assert all(s.properties is not None and len(s.properties) == 32 for s in states)
    assert fake.max_active == 1  # the shared model is never used by two threads at once
    assert fake.calls == 10


def test_sessions_measure_their_samples_one_at_a_time_and_a_superseded_job_not_at_all(catalogue, monkeypatch):
    import threading
    import time

    import explorer.jobs as jobs

    active, peak, measured, guard = [0], [0], [], threading.Lock()
    real = jobs.sample_properties

    def one_measurement(prediction, row=None, image=None):
        with guard:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)  # long enough for the other sessions' jobs to arrive meanwhile
        try:
            measured.append((row or {}).get("galaxy_id"))
            return real(prediction, row=row, image=image)
        finally:
            with guard:
                active[0] -= 1

    monkeypatch.setattr(jobs, "sample_properties", one_measurement)
    pool, shared = SamplerPool(6), SharedPredictor(lambda: FakePredictor())
    ctls = [SamplingController(ExplorerState(n_samples=16), Cat(catalogue), shared, pool=pool, chunk=16)
            for _ in range(4)]
    futures = []
    for k, ctl in enumerate(ctls):
        ctl.jobs.auto = False
        ctl.jobs.load_galaxy(100 + k)
        futures.append(ctl.jobs.start())
    for f in futures:
        f.result(timeout=120)
    assert peak[0] == 1 and sorted(measured) == [100, 101, 102, 103]
    assert all(c.state.properties is not None and len(c.state.properties) == 16 for c in ctls)
    measured.clear()
    with pool.measuring:  # another session is measuring: this job draws, then waits for its turn ...
        old = ctls[0].jobs.start()
        time.sleep(0.3)
        new = ctls[0].jobs.start()  # ... and is superseded meanwhile by a new request
        time.sleep(0.3)
    old.result(timeout=120)
    new.result(timeout=120)
    assert measured == [100]  # only the newer job measured
    pool.close()


def test_closing_the_pool_stops_jobs_at_their_next_chunk_and_waits_for_them():
    """At exit no sampler thread may still be inside the model (the interpreter would abort)."""
    import time

    pool = SamplerPool(2)
    started = []

    def job():  # like a sampling job: a chunk at a time, checking whether to stop in between
        started.append(True)
        while not pool.stopping.is_set():
            time.sleep(0.01)
        time.sleep(0.2)  # the chunk in flight
        return "stopped"

    running = pool.submit(job)
    while not started:
        time.sleep(0.01)
    assert pool.close(timeout=30) and running.done() and running.result() == "stopped"
    late = pool.submit(lambda: 1)  # queued after close: cancelled, never run
    time.sleep(0.2)
    assert late.cancelled()


def test_sampler_workers_return_results_and_errors_and_never_block_exit():
    import threading

    pool = SamplerPool(2)
    assert pool.submit(lambda: 42).result(timeout=30) == 42
    failing = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=30)
    assert pool.submit(lambda: "still alive").result(timeout=30) == "still alive"
    workers = [t for t in threading.enumerate() if t.name.startswith("photospec-sampler")]
    assert workers and all(t.daemon for t in workers)


def test_properties_summary_truth_and_agn(catalogue):
    pred = FakePredictor(agn=True).sample(fake_cutout(), n=16)
    from explorer.properties import sample_properties

    df = sample_properties(pred)
    row = {"z": Z0, "oh_gas": 8.7, "flux_nii_6584": 25.0, "flux_halpha": 30.0}
    s = summarise(df, row).set_index("column")
    assert s.loc["z", "median"] == pytest.approx(Z0, abs=0.003)
    assert s.loc["z", "p16"] <= s.loc["z", "median"] <= s.loc["z", "p84"]
    assert s.loc["log_nii_ha", "truth"] == pytest.approx(np.log10(25 / 30))
    p, k = agn_probability(df)
    assert k > 0 and p > 0.5  # strong [N II] and [O III]: the samples fall above Kauffmann
    fake_df = pd.DataFrame({"bpt_class": ["star-forming", "liner", "unclassified", "composite"],
                            "is_agn": [False, True, False, True]})
    assert agn_probability(fake_df) == (pytest.approx(2 / 3), 3)
    state = ExplorerState(properties=df, row=row)
    view = PropertiesView(state)
    assert len(view.shown()) >= 8 and "P(AGN)" in view._table.object


def test_properties_update_in_place_without_new_bokeh_models():
    """A second batch refills the figures already on the page: same Bokeh models, new numbers."""
    from bokeh.document import Document

    from explorer.properties import sample_properties

    state = ExplorerState(row={"z": Z0, "dn4000": 1.3})
    view = PropertiesView(state)
    doc = Document()
    doc.add_root(pn.panel(view).get_root(doc))
    state.properties = sample_properties(FakePredictor().sample(fake_cutout(), n=16, seed=1))
    first = {m.id for m in doc.models}
    z_hist = view.shown()["z"]
    data1, table1 = dict(z_hist.source.data), view._table.object
    assert z_hist.truth.visible and z_hist.truth.location == pytest.approx(Z0)
    changed = []
    doc.on_change(lambda event: changed.append(event))
    state.properties = sample_properties(FakePredictor(agn=True).sample(fake_cutout(), n=24, seed=2))
    assert {m.id for m in doc.models} == first  # no figure, glyph or source was rebuilt
    assert changed  # ... but the page was told what changed
    assert z_hist.source.data["top"].sum() == 24 and data1["top"].sum() == 16
    assert not np.array_equal(z_hist.source.data["left"], data1["left"])
    assert view._table.object != table1 and "| 24 |" in view._table.object
    bpt = view._bpt_fig.select_one({"name": "samples"}).data_source
    assert len(bpt.data["x"]) > 0
    shown = set(view.shown())
    state.clear_results()  # a new pick: the figures stay on the page, emptied
    assert set(view.shown()) == shown
    assert len(z_hist.source.data["top"]) == 0 and not z_hist.median.visible and len(bpt.data["x"]) == 0
    assert "once samples are drawn" in view._table.object and {m.id for m in doc.models} == first


def test_exports_open_with_astropy(catalogue, tmp_path):
    from astropy.io import fits

    state = ExplorerState(galaxy_id=105, source="catalogue galaxy #105")
    with pytest.raises(Exception, match="no samples"):
        fits_bytes(state)
    pred = FakePredictor().sample(fake_cutout(), n=16)
    from explorer.properties import sample_properties

    state.param.update(prediction=pred, properties=sample_properties(pred))
    data = fits_bytes(state)
    with fits.open(io.BytesIO(data)) as h:
        names = [x.name for x in h]
        assert {"SAMPLES", "SPECTRUM", "QUANTILES", "SAMPLEINFO", "PROPERTIES"} <= set(names)
        assert h["SAMPLES"].data.shape == (16, WAVE.size)
        assert len(h["PROPERTIES"].data) == 16 and "dn4000" in h["PROPERTIES"].columns.names
    from model.data.predictions import read_predictions  # the download is the CLI's prediction file

    (path := tmp_path / "download.fits").write_bytes(data)
    (back,) = read_predictions(path)
    assert np.allclose(back.z, pred.z) and back.meta["galaxy_id"] == 105
    text = csv_text(state)
    assert text.startswith("# ") and "galaxy_id: 105" in text
    back = pd.read_csv(io.StringIO(text), comment="#")
    assert len(back) == 16 and "metallicity_o3n2" in back.columns
    assert spectra_png(state)[:8] == b"\x89PNG\r\n\x1a\n"


def test_upload_good_and_bad(tmp_path):
    from model.data.sdss_cutout import Cutout, write_cutout_fits

    state = ExplorerState(galaxy_id=7)
    msgs = []
    up = UploadView(state, notify=lambda level, text: msgs.append((level, text)))
    assert not up.accept(b"this is not a FITS file", "junk.fits")
    assert msgs[-1][0] == "error" and "junk.fits" in msgs[-1][1] and "upload" not in msgs[-1][1].split(":")[0]
    assert state.image is None
    cut = Cutout(fake_cutout(), 10.0, 1.0, np.full(5, 1.3), np.full(5, 0.03))
    path = write_cutout_fits(cut, tmp_path / "c.fits")
    assert up.accept(path.read_bytes(), "c.fits")
    assert state.has_image and state.galaxy_id is None and state.source == "upload c.fits"
    bad = Cutout(np.zeros((5, 32, 32), np.float32), 0.0, 0.0, np.full(5, 1.0), np.full(5, 0.1))
    write_cutout_fits(bad, tmp_path / "small.fits")
    assert not up.accept((tmp_path / "small.fits").read_bytes(), "small.fits")
    assert "expected (5, 64, 64)" in msgs[-1][1]


def test_reference_catalogue_is_kept_in_the_cache_and_reread_identically(registry_cache, monkeypatch):
    from explorer.cmd import CMDView, reference_catalogue
    from explorer.server import ServerState
    from model.catalogue import Catalogue

    src = registry_cache.path("kcorrect", "*gst_tests_small.fits")
    fast = registry_cache.cache_dir() / "explorer" / "kcorrect-reference.arrow"
    fresh = Catalogue.open(src)
    real_open = Catalogue.open
    if fast.exists():
        fast.unlink()
    for state in ("missing", "current", "corrupt"):  # built, then read without the FITS file, then rebuilt
        monkeypatch.setattr(Catalogue, "open", classmethod(lambda cls, path=None: 1 / 0) if state == "current"
                            else real_open)
        if state == "corrupt":
            fast.write_bytes(b"not an Arrow file")
        ref = reference_catalogue()
        assert fast.exists() and len(ref) == len(fresh)
        for c in ("u_r", "abs_mag_r", "mag_r", "g_r"):
            assert np.allclose(ref.column(c), fresh.column(c), equal_nan=True)
    server = ServerState()  # the contours are computed once per server, for every session's CMD
    views = [CMDView(Catalogue.from_frame(make_table(300)), ExplorerState(), server=server) for _ in range(2)]
    first = views[0].reference_contours("u_r", "abs_mag_r")
    assert first is not None and views[1].reference_contours("u_r", "abs_mag_r") is first
