"""``photospec serve [--catalogue FILE] [--port N]``: serve the explorer with ``panel serve app.py``.

model/ never imports Panel: this command only checks its arguments and replaces itself with
the ``panel serve`` process, passing the catalogue through ``$PHOTOSPEC_CATALOGUE`` and warming
up (catalogue, datashader, model) with ``--setup explorer/warmup.py`` before the first visitor.
A ``--catalogue`` is checked first (:func:`model.catalogue.check_catalogue`): one that does not
open or has no ugriz magnitudes ends the command with one line naming the file, and no server.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from model.errors import BadInputError

ROOT = Path(__file__).resolve().parents[2]
# An uploaded file reaches the server base64-encoded (4/3 of its size) in one websocket message.
# Bokeh's default limit (20 MiB) closed the connection (1009, "message too big") for files over
# ~15 MB, before the explorer's own size check could answer, and the session was lost. With this
# limit, files up to ~96 MB get the explorer's one-line message and the session goes on.
WEBSOCKET_MAX_MESSAGE_BYTES = 128 * 2**20


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the interactive explorer (http://localhost:PORT/app)")
    p.add_argument("--catalogue", help="Parquet file/directory or FITS table with ugriz magnitudes "
                                       "(default: the mock catalogue written at set-up)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=_serve)


def panel_command(args) -> tuple[list[str], dict]:
    """The ``panel serve`` argv and environment for ``args`` (checked, nothing started)."""
    app = ROOT / "app.py"
    if not app.exists():
        raise BadInputError(f"{app}: the explorer's app.py is missing (serve needs a source checkout)")
    if not 0 < args.port < 65536:
        raise BadInputError(f"--port: {args.port} is not a valid port")
    env = dict(os.environ)
    if args.catalogue:
        from model.catalogue import check_catalogue

        cat = Path(args.catalogue).expanduser().resolve()
        if not cat.exists():
            raise BadInputError(f"{args.catalogue}: no such catalogue file or directory")
        check_catalogue(cat)  # a text file, a corrupt Parquet file or no ugriz: one line now, no server
        env["PHOTOSPEC_CATALOGUE"] = str(cat)
    panel = shutil.which("panel", path=str(Path(sys.executable).parent)) or shutil.which("panel")
    if panel is None:
        raise BadInputError("panel: not installed in this environment (run scripts/setup.sh)")
    origins = [f"--allow-websocket-origin={h}:{args.port}" for h in ("localhost", "127.0.0.1", args.address)]
    argv = [panel, "serve", str(app), "--port", str(args.port), "--address", args.address,
            "--setup", str(ROOT / "explorer" / "warmup.py"),
            "--websocket-max-message-size", str(WEBSOCKET_MAX_MESSAGE_BYTES), *dict.fromkeys(origins)]
    if args.show:
        argv.append("--show")
    return argv, env


def _serve(args) -> int:
    argv, env = panel_command(args)
    print(f"photospec serve: http://localhost:{args.port}/app", flush=True)
    os.chdir(ROOT)
    os.execve(argv[0], argv, env)
    return 0  # not reached
