"""One short definition for every property name the explorer shows, and the tooltips that carry them.

:data:`GLOSSARY` is the one home of these definitions; :func:`tip` wraps a name in an HTML ``<abbr>``
whose ``title`` the browser shows on hover, and :func:`glossary_markdown` lists them all (the About tab).
"""

from __future__ import annotations

import html

GLOSSARY: dict[str, str] = {
    "redshift": "z: how much the galaxy's light is stretched by the expansion of the Universe; here 0.05–0.15 "
                "(roughly 200–600 Mpc away).",
    "Dn4000": "The narrow 4000 Å break (Balogh et al. 1999): flux just above 4000 Å over flux just below it. "
              "Old stellar populations have a strong break (≳ 1.6), young star-forming ones a weak one (≈ 1.2).",
    "4000 Å break": "A step in a galaxy's spectrum at 4000 Å (rest frame), made by metal absorption in the "
                    "atmospheres of old, cool stars; measured as Dn4000.",
    "σ*": "Stellar velocity dispersion: the spread of star velocities along the line of sight (km/s), read from "
          "how much the absorption lines are broadened; larger in more massive galaxies.",
    "σ lines": "Width of the emission lines (km/s): how fast the ionised gas moves.",
    "log M*": "Stellar mass: log10 of the mass in stars, in solar masses (M☉); here from the spectrum's colour "
              "and the galaxy's brightness (Bell et al. 2003).",
    "BPT": "Baldwin–Phillips–Terlevich diagram: [O III]/Hβ against [N II]/Hα. Star formation and an active "
           "nucleus (AGN) ionise gas differently, so galaxies fall on different sides of its dividing lines.",
    "AGN": "Active galactic nucleus: gas falling onto the central supermassive black hole, bright enough to "
           "ionise the galaxy's gas.",
    "P(AGN)": "The fraction of a galaxy's sampled spectra that the BPT diagram classes as AGN (composite, "
              "Seyfert or LINER): the model's probability that the galaxy hosts an AGN.",
    "O3N2": "A gas-metallicity indicator (Pettini & Pagel 2004) from two line ratios, "
            "([O III]/Hβ)/([N II]/Hα); valid for star-forming galaxies only.",
    "12+log(O/H)": "Gas-phase metallicity: the number of oxygen atoms per hydrogen atom, as 12 + log10(O/H); "
                   "the Sun has about 8.7.",
    "mass–metallicity relation": "More massive star-forming galaxies have more metal-rich gas; the relation "
                                 "flattens above about 10^10.5 M☉ (Tremonti et al. 2004).",
    "bimodality": "Galaxies fall in two groups: a red sequence of old, quiescent galaxies and a blue cloud of "
                  "star-forming ones, with few in the 'green valley' between.",
    "red sequence": "Galaxies that stopped forming stars: red colours, strong 4000 Å break, no emission lines.",
    "Hα": "The hydrogen Balmer-alpha emission line at 6565 Å (rest frame, vacuum): glows where young, hot "
          "stars ionise gas, so it traces current star formation.",
    "[O II]": "The ionised-oxygen doublet at 3727–3729 Å (rest frame): another tracer of star formation, seen "
              "in the blue part of the spectrum.",
    "[N II]/Hα": "Ratio of ionised-nitrogen (6585 Å) to Hα flux, on the BPT diagram's horizontal axis.",
    "[O III]/Hβ": "Ratio of doubly ionised oxygen (5008 Å) to Hβ flux, on the BPT diagram's vertical axis.",
    "HδA": "Lick index of the Hδ absorption line (Worthey & Ottaviani 1997): strong after a recent burst "
           "of star formation.",
    "Mg b": "Lick index of the magnesium triplet near 5175 Å: stronger in old, metal-rich populations.",
    "Fe5270": "Lick index of an iron line at 5270 Å: traces the metallicity of the stars.",
    "EW Hα": "Equivalent width of Hα (Å): the line's flux relative to the continuum beside it.",
    "u − r": "Colour: the u-band minus the r-band magnitude; larger is redder (older or dustier).",
    "M_r": "Absolute r-band magnitude: how bright the galaxy would look from 10 pc; more negative is brighter.",
    "median and bands": "Each sampled spectrum is one guess; the line is the pixel-wise median of the guesses "
                        "and the shaded bands hold the central 68 % (and 95 %) of them.",
    "rest frame": "Wavelengths divided by (1 + z): as the light left the galaxy, so lines sit at their lab "
                  "wavelengths.",
}


def definition(term: str) -> str:
    """The one definition of ``term`` (KeyError for a term the glossary lacks)."""
    return GLOSSARY[term]


def tip(term: str, text: str | None = None) -> str:
    """``text`` (default ``term``) as HTML with the definition of ``term`` as its hover tooltip."""
    shown = html.escape(text if text is not None else term)
    return (f'<abbr class="glossary" title="{html.escape(definition(term), quote=True)}" '
            f'style="cursor: help; text-decoration: underline dotted">{shown}</abbr>')


def glossary_markdown() -> str:
    """Every term with its definition, one per line (Markdown)."""
    return "\n".join(f"- **{html.escape(t)}**: {html.escape(d)}" for t, d in GLOSSARY.items())

# the glossary term of each per-sample property column (model.science.pipeline.measure's names)
COLUMN_TERMS: dict[str, str] = {
    "z": "redshift", "dn4000": "Dn4000", "lick_hdelta_a": "HδA", "lick_mgb": "Mg b", "lick_fe5270": "Fe5270",
    "log_nii_ha": "[N II]/Hα", "log_oiii_hb": "[O III]/Hβ", "metallicity_o3n2": "O3N2", "log_mstar": "log M*",
    "sigma_star": "σ*", "line_sigma_kms": "σ lines", "ew_halpha": "EW Hα", "p_agn": "P(AGN)",
}


def column_tip(column: str, label: str) -> str:
    """``label`` with the tooltip of ``column``'s glossary term (escaped plain text when it has none)."""
    term = COLUMN_TERMS.get(column)
    return tip(term, label) if term else html.escape(label)
