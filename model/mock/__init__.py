"""The mock SDSS universe: population → star-formation history → spectrum → photometry → image.

Calibrated to real SDSS catalogues and instruments, because no SDSS
image+spectrum training set can be downloaded here. Modules:

- :mod:`model.mock.population` — generator parameters anchored to kcorrect's real SDSS galaxies.
- :mod:`model.mock.ssp`, :mod:`model.mock.sfh`, :mod:`model.mock.dust`, :mod:`model.mock.nebular`
  — BC03+MILES basis, star-formation histories, Calzetti/Cardelli dust, CLOUDY and AGN lines.
- :mod:`model.mock.photometry`, :mod:`model.mock.fibre`, :mod:`model.mock.catalogue_rows` — fast
  ugriz photometry and labels without spectra (catalogue-only mode).
- :mod:`model.mock.spectra`, :mod:`model.mock.noise` — observed SDSS-like spectra with ivar.
- :mod:`model.mock.image` — 5×64×64 ugriz cutouts (bulge + disk, real PSF and noise).
- :mod:`model.mock.render`, :mod:`model.mock.store` — one galaxy from its row; sharded datasets.
- :mod:`model.mock.validate` — mock against real, as numbers and a figure.
"""

GENERATOR_VERSION = "2.1"
