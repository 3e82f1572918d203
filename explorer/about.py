"""The "About" pane: what the explorer does, how, and what the default model was trained on."""

from __future__ import annotations

import panel as pn

ABOUT = """
### About photospec

photospec draws **plausible optical spectra of a galaxy from its 64×64-pixel SDSS *ugriz* image**
with a conditional diffusion model, after Doorenbos et al. 2024, *Galaxy spectroscopy without
spectra* (arXiv:2406.18175). Every draw is a different spectrum consistent with the image; the
spread of many draws is the model's uncertainty.

**How to use it.** Click a galaxy on the colour–magnitude diagram (or upload a 5×64×64 cutout
FITS). The cutout appears, and spectra are drawn in the background and shown as they arrive:
the median with 68 % and 95 % bands, the sample the contrastive image–spectrum scorer likes best,
and for mock galaxies the true spectrum. Properties are measured on *every* sample with the
toolbox — redshift, Dn4000 (Balogh et al. 1999), Lick indices (Trager et al. 1998), emission
lines, the BPT class (Kauffmann et al. 2003; Kewley et al. 2001) and gas metallicity (Pettini &
Pagel 2004) — so each comes with an interval; P(AGN) is the fraction of classified samples that
fall in the composite, Seyfert or LINER regions.

**Plainly: the default model was trained on a mock universe**, not on real SDSS spectra. No SDSS
image+spectrum training set can be downloaded where this project is built, so galaxies are
simulated (stellar populations, dust, nebular and AGN lines, SDSS-like PSF and noise) and
calibrated to real SDSS catalogues and instruments. On real SDSS images its spectra are only as
good as that mock is realistic; an out-of-distribution warning appears when an image looks unlike
the training set. The orange contours on the CMD are 10,000 *real* SDSS galaxies (kcorrect,
Blanton & Roweis 2007) for comparison.

Export the samples and properties (FITS, CSV) or the figure (PNG); the page address keeps the
galaxy and settings, so a copied link reopens the same view.
"""


def about_pane() -> pn.viewable.Viewable:
    """The About text as a Markdown pane."""
    return pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", max_width=900)
