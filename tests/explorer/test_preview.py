"""The cached CMD picture a cold server shows first: written, found only while fresh, off on request."""

from __future__ import annotations

import numpy as np

import explorer.preview as preview
from model.catalogue import Catalogue
from tests.explorer.fakes import make_table


def test_the_picture_is_cached_shown_while_fresh_and_never_when_stale(tmp_path, monkeypatch):
    source = tmp_path / "cat.parquet"
    df = make_table(3000)
    df.to_parquet(source)
    cat = Catalogue.from_frame(df, "<b>class</b> catalogue")
    monkeypatch.setenv("PHOTOSPEC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PHOTOSPEC_CATALOGUE", str(source))
    assert preview.cached_preview() is None and not preview.preview_is_fresh() and preview.preview_pane() is None
    png = preview.write_preview(cat)
    assert png is not None and png.parent == tmp_path / "cache" / "explorer"
    data, info = preview.cached_preview()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and info["rows"] == 3000
    from PIL import Image

    img = np.asarray(Image.open(png))
    assert img.shape == (preview.HEIGHT, preview.WIDTH, 3) and (img != 255).any()  # some galaxies drawn
    pane = preview.preview_pane()
    caption = pane[0].object
    assert "<b>" not in caption and "3,000 galaxies" in caption  # the label is shown as text
    monkeypatch.setenv("PHOTOSPEC_CMD_PREVIEW", "0")
    assert preview.cached_preview() is None and preview.preview_pane() is None
    monkeypatch.delenv("PHOTOSPEC_CMD_PREVIEW")
    df.head(10).to_parquet(source)  # the catalogue changed: its old picture is stale
    assert preview.cached_preview() is None and not preview.preview_is_fresh()
