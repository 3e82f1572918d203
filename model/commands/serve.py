"""``photospec serve [--catalogue FILE] [--port N]``: serve the explorer (``panel serve`` of the installed
``explorer/served/app.py``, the same page as the checkout's ``app.py``).

model/ never imports Panel: this command only checks its arguments and replaces itself with
the ``panel serve`` process, passing the catalogue through ``$PHOTOSPEC_CATALOGUE`` and warming
up (catalogue, datashader, model) with ``--setup explorer/warmup.py`` before the first visitor.
A ``--catalogue`` is checked first (:func:`model.catalogue.check_catalogue`): one that does not
open or has no ugriz magnitudes ends the command with one line naming the file, and no server.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

from model import settings
from model.errors import BadInputError

# An uploaded file reaches the server base64-encoded (4/3 of its size) in one websocket message.
# Bokeh's default limit (20 MiB) closed the connection (1009, "message too big") for files over
# ~15 MB, before the explorer's own size check could answer, and the session was lost. With this
# limit, files up to ~96 MB get the explorer's one-line message and the session goes on.
WEBSOCKET_MAX_MESSAGE_BYTES = 128 * 2**20


def explorer_file(name: str) -> Path:
    """A file of the installed ``explorer`` package (found without importing it: model/ never imports the UI)."""
    spec = importlib.util.find_spec("explorer")
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError("explorer: the photospec explorer package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise BadInputError(f"{path}: missing from the installed explorer package")
    return path


def origin(text: str, port: int) -> str:
    """``HOST[:PORT]`` checked for ``--allow-websocket-origin`` (the serving port when none is given)."""
    text = str(text).strip()
    if not re.fullmatch(r"[A-Za-z0-9.\-*]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?", text):
        raise BadInputError(f"--allow-websocket-origin: {text[:80]!r} is not HOST or HOST:PORT")
    return text if re.search(r"(^[^\[]*:|\]:)[0-9]+$", text) else f"{text}:{port}"


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the interactive explorer (http://localhost:PORT/app)")
    p.add_argument("--catalogue", help="Parquet file/directory or FITS table with ugriz magnitudes "
                                       "(default: the mock catalogue written at set-up)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                   help="also accept pages opened as http://HOST:PORT/app (repeatable; e.g. the name or address "
                        "students type; PORT defaults to --port)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=_serve)


def panel_command(args) -> tuple[list[str], dict]:
    """The ``panel serve`` argv and environment for ``args`` (checked, nothing started)."""
    app = explorer_file("served/app.py")
    if not 0 < args.port < 65536:
        raise BadInputError(f"--port: {args.port} is not a valid port")
    env = dict(os.environ)
    if args.catalogue:
        from model.catalogue import check_catalogue

        cat = Path(args.catalogue).expanduser().resolve()
        if not cat.exists():
            raise BadInputError(f"{args.catalogue}: no such catalogue file or directory")
        check_catalogue(cat)  # a text file, a corrupt Parquet file or no ugriz: one line now, no server
        env[settings.CATALOGUE] = str(cat)
    if importlib.util.find_spec("panel") is None:
        raise BadInputError("panel: not installed in this environment (run scripts/setup.sh)")
    origins = [f"--allow-websocket-origin={h}:{args.port}" for h in ("localhost", "127.0.0.1", args.address)]
    origins += [f"--allow-websocket-origin={origin(o, args.port)}" for o in getattr(args, "allow_websocket_origin", None) or []]
    argv = [sys.executable, "-m", "panel", "serve", str(app), "--port", str(args.port), "--address", args.address,
            "--setup", str(explorer_file("warmup.py")),
            "--websocket-max-message-size", str(WEBSOCKET_MAX_MESSAGE_BYTES), *dict.fromkeys(origins)]
    if args.show:
        argv.append("--show")
    return argv, env


def _serve(args) -> int:
    argv, env = panel_command(args)
    print(f"photospec serve: http://localhost:{args.port}/app", flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached
