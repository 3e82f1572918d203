"""The spectroscopic toolbox: what astronomers read off a galaxy spectrum.

Modules (each cites the definitions it implements):

- :mod:`model.science.indices` — Dn4000, D4000, Lick/IDS indices (batch, with errors).
- :mod:`model.science.lines` — emission-line fluxes and equivalent widths after a continuum.
- :mod:`model.science.bpt` — BPT class, AGN flag, gas metallicity, Balmer-decrement E(B−V).
- :mod:`model.science.fast` — indices + lines + BPT for many samples at once (no pPXF).
- :mod:`model.science.redshift` — redshift from an observed-frame spectrum, no prior needed.
- :mod:`model.science.ppxf_fit` — full-spectrum fitting with pPXF and real SSP templates.
- :mod:`model.science.mass` — stellar mass from a mass-to-light ratio and photometry.
- :mod:`model.science.relations` — mass–metallicity relation and the colour/Dn4000 bimodality.

Missing values: every table carries a ``reason`` column; a property that cannot be measured
is NaN and ``reason`` lists ``"<column>: <why>"`` entries separated by ``"; "`` (empty string
when everything was measured).
"""
