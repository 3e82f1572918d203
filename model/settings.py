"""Every setting photospec reads from the environment, and where its shipped files are.

Each variable is read here and only here, when it is asked for (not at import), so a command can
set one for a child process (``photospec serve`` → ``panel serve``) and tests can change them.

========================== ===================================================== ==========================================
variable                   meaning                                               default
========================== ===================================================== ==========================================
``PHOTOSPEC_CACHE``        cache root: registry data, mock tables, catalogue     ``$XDG_CACHE_HOME/photospec``, else
                                                                                 ``~/.cache/photospec``
``PHOTOSPEC_ASSETS``       folder holding ``default-model.safetensors`` and      the files installed with the package
                           ``demo-predictions.parquet``
``PHOTOSPEC_DEVICE``       torch device of the networks (``cpu``, ``cuda:1``)    CUDA when available, else CPU
``PHOTOSPEC_BF16``         ``1``/``0``: force bf16 autocast on/off               measured per network kind
``PHOTOSPEC_THREADS``      torch threads of the explorer's shared sampler        1
``PHOTOSPEC_GATHER_MS``    how long the explorer's sampler gathers chunk          20
                           requests from sessions into one batched draw (0: each
                           session draws alone)
``PHOTOSPEC_SAMPLER_WORKERS`` threads running the explorer's sessions' jobs      24
``PHOTOSPEC_CMD_PREVIEW``  ``0``: no cached CMD image on a cold server's page     shown when cached
``PHOTOSPEC_CATALOGUE``    catalogue the explorer serves                         the default mock catalogue in the cache
``PHOTOSPEC_FULL_CATALOGUE`` ``1``: the explorer reads every catalogue column     light columns only
``PHOTOSPEC_WARMUP``       ``sync``: warm the explorer up before serving         in the background
``PHOTOSPEC_REALDATA``     folder of real SDSS files for ``photospec mock        none (those checks are skipped)
                           --validate``'s image checks
========================== ===================================================== ==========================================
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from model.errors import BadInputError

CATALOGUE = "PHOTOSPEC_CATALOGUE"


def _get(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def cache_dir() -> Path:
    """The cache root (``PHOTOSPEC_CACHE``, else ``$XDG_CACHE_HOME/photospec`` or ``~/.cache/photospec``)."""
    env = _get("PHOTOSPEC_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = _get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "photospec"


def assets_dir() -> Path:
    """The shipped assets: ``PHOTOSPEC_ASSETS``, else the copy installed with the package.

    In a source checkout ``model/assets`` links to the repository's ``assets/``; a wheel carries
    the runtime files (default checkpoint, demo predictions) in their place.
    """
    env = _get("PHOTOSPEC_ASSETS")
    return Path(env).expanduser() if env else Path(str(resources.files("model") / "assets"))


def default_checkpoint() -> Path:
    """The default model's checkpoint (``default-model.safetensors`` in :func:`assets_dir`)."""
    return assets_dir() / "default-model.safetensors"


def demo_predictions() -> Path:
    """Batch predictions behind the explorer's predicted relations (in :func:`assets_dir`)."""
    return assets_dir() / "demo-predictions.parquet"


def device() -> str | None:
    """``PHOTOSPEC_DEVICE`` (None: choose automatically)."""
    return _get("PHOTOSPEC_DEVICE")


def bf16() -> bool | None:
    """``PHOTOSPEC_BF16`` as True/False (None: not set, or not ``0``/``1``)."""
    env = (_get("PHOTOSPEC_BF16") or "").strip()
    return {"1": True, "0": False}.get(env)


def sampler_threads() -> int:
    """``PHOTOSPEC_THREADS``: torch threads of the explorer's shared model (default 1)."""
    env = _get("PHOTOSPEC_THREADS")
    if env is None:
        return 1
    try:
        return max(1, int(env))
    except ValueError:
        raise BadInputError(f"PHOTOSPEC_THREADS={env!r}: not an integer") from None


def _number(name: str, default, cast, lo):
    env = _get(name)
    if env is None:
        return default
    try:
        value = cast(env)
    except ValueError:
        raise BadInputError(f"{name}={env!r}: not a number") from None
    if not value >= lo:
        raise BadInputError(f"{name}={env!r}: must be ≥ {lo}")
    return value


def gather_ms() -> float:
    """``PHOTOSPEC_GATHER_MS``: the explorer's window for batching sessions' chunks (default 20; 0: off)."""
    return _number("PHOTOSPEC_GATHER_MS", 20.0, float, 0)


def sampler_workers() -> int:
    """``PHOTOSPEC_SAMPLER_WORKERS``: threads running the explorer's sampling jobs (default 24)."""
    return _number("PHOTOSPEC_SAMPLER_WORKERS", 24, int, 1)


def default_catalogue_dir() -> Path:
    """Where set-up writes the default mock catalogue (``<cache>/catalogue-default``)."""
    return cache_dir() / "catalogue-default"


def cmd_preview() -> bool:
    """``PHOTOSPEC_CMD_PREVIEW=0``: a cold explorer shows no cached CMD image while its panes load."""
    return _get("PHOTOSPEC_CMD_PREVIEW") != "0"


def catalogue() -> str | None:
    """``PHOTOSPEC_CATALOGUE``: the catalogue the explorer serves (None: the default mock)."""
    return _get(CATALOGUE)


def full_catalogue() -> bool:
    """``PHOTOSPEC_FULL_CATALOGUE=1``: the explorer reads every column (slow; for benchmarks)."""
    return _get("PHOTOSPEC_FULL_CATALOGUE") == "1"


def warmup_sync() -> bool:
    """``PHOTOSPEC_WARMUP=sync``: warm the explorer up before serving the first page."""
    return _get("PHOTOSPEC_WARMUP") == "sync"


def realdata_dir() -> Path | None:
    """``PHOTOSPEC_REALDATA``: a folder of real SDSS files for validation (None when not set)."""
    env = _get("PHOTOSPEC_REALDATA")
    return Path(env).expanduser() if env else None
