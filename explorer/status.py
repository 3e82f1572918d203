"""A self-hosted page that says which parts of photospec are ready (until the explorer lands)."""

from __future__ import annotations

import importlib.util

import panel as pn

from model.data import registry

PARTS = [
    ("SDSS readers (spec, frame cutouts, Pasquet cube)", "model.data.sdss_spec"),
    ("Mock universe", "model.mock"),
    ("Spectroscopic toolbox", "model.science"),
    ("Diffusion model and samplers", "model.sampling"),
    ("Explorer", "explorer.app"),
]


def _ready(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def status_page() -> pn.viewable.Viewable:
    """A plain Markdown page listing the parts of photospec and the registry data."""
    rows = "\n".join(f"| {name} | {'ready' if _ready(mod) else 'not yet'} |" for name, mod in PARTS)
    man = registry.manifest()
    data = "\n".join(f"| {n} | {r.package}=={r.version} | {'cached' if n in man else 'missing'} |"
                     for n, r in registry.RESOURCES.items())
    text = f"""# photospec

Galaxy spectroscopy without spectra (Doorenbos et al. 2024). The explorer is under construction;
this page lists what is ready.

| part | state |
|---|---|
{rows}

| registry resource | package | state |
|---|---|---|
{data}
"""
    return pn.Column(pn.pane.Markdown(text, sizing_mode="stretch_width"), sizing_mode="stretch_width")
