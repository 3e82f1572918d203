"""Upload a 5×64×64 ugriz cutout FITS (e.g. from ``photospec cutout``) and predict for it.

The bytes are written to a temporary file and read with
:func:`model.data.sdss_cutout.read_cutout_fits`, which validates the header (shape, bands)
before reading data; any problem becomes a one-line message in the page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import panel as pn
from panel.viewable import Viewer

from explorer.state import ExplorerState
from model.errors import PhotospecError

MAX_BYTES = 20 * 2**20


def load_upload(data: bytes, filename: str):
    """A :class:`model.data.sdss_cutout.Cutout` from uploaded bytes (BadInputError naming the file)."""
    from model.data.sdss_cutout import read_cutout_fits
    from model.errors import BadInputError

    name = Path(filename or "upload.fits").name
    if not data:
        raise BadInputError(f"{name}: empty file")
    if len(data) > MAX_BYTES:
        raise BadInputError(f"{name}: {len(data) / 2**20:.1f} MiB is too large for a 5×64×64 cutout")
    suffix = ".fits.gz" if name.lower().endswith(".gz") else ".fits"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            cut = read_cutout_fits(path)
        except PhotospecError as exc:  # name the user's file, not the temporary path
            raise BadInputError(str(exc).replace(str(path), name)) from None
    cut.meta["file"] = name
    return cut


class UploadView(Viewer):
    """A file input; a valid cutout replaces the current image and starts sampling."""

    def __init__(self, state: ExplorerState, notify=None, **params):
        super().__init__(**params)
        self.state = state
        self.notify = notify or (lambda level, text: None)
        self._input = pn.widgets.FileInput(accept=".fits,.fit,.fts,.gz", multiple=False, label="cutout FITS",
                                           sizing_mode="stretch_width")
        self._input.param.watch(self._on_file, "value")

    def accept(self, data: bytes, filename: str) -> bool:
        """Load an uploaded cutout into the state; False (and a message) when it is not usable."""
        try:
            cut = load_upload(data, filename)
        except PhotospecError as exc:
            self.state.message = str(exc)
            self.notify("error", str(exc))
            return False
        self.state.clear_results()
        self.state.param.update(galaxy_id=None, row=None, truth=None, source=f"upload {cut.meta['file']}")
        self.state.image = cut.image
        self.notify("success", f"{cut.meta['file']}: cutout loaded")
        return True

    def _on_file(self, event):
        if event.new:
            self.accept(event.new, self._input.filename)

    def __panel__(self):
        return pn.Column(pn.pane.Markdown("**Upload a 5×64×64 ugriz cutout** (FITS, nanomaggies; "
                                          "e.g. from `photospec cutout`)", margin=(0, 5)),
                         self._input, sizing_mode="stretch_width")
