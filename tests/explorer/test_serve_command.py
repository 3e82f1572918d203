"""``photospec serve``: argument checks and the ``panel serve`` command line (nothing is started)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from model.cli import main
import explorer
from model.commands.serve import panel_command
from model.errors import BadInputError


def args(**kw):
    base = dict(catalogue=None, port=5006, address="127.0.0.1", show=False)
    return argparse.Namespace(**{**base, **kw})


def test_panel_command_passes_catalogue_and_warm_up(tmp_path):
    cat = tmp_path / "c.parquet"
    cat.write_bytes(b"")
    argv, env = panel_command(args(catalogue=str(cat), port=5123))
    package = Path(explorer.__file__).parent
    assert argv[1:5] == ["-m", "panel", "serve", str(package / "served" / "app.py")]
    assert "--port" in argv and argv[argv.index("--port") + 1] == "5123"
    assert str(package / "warmup.py") in argv
    assert "--allow-websocket-origin=localhost:5123" in argv
    assert env["PHOTOSPEC_CATALOGUE"] == str(cat.resolve())


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(BadInputError, match="no such catalogue"):
        panel_command(args(catalogue=str(tmp_path / "missing.parquet")))
    with pytest.raises(BadInputError, match="not a valid port"):
        panel_command(args(port=70000))
    assert main(["serve", "--catalogue", str(tmp_path / "missing.fits")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.fits" in err[0]


def test_the_server_accepts_uploads_larger_than_the_explorer_refuses():
    """The explorer's own size check answers an oversized cutout; the websocket must carry it there."""
    from explorer.upload import MAX_BYTES
    from model.commands.serve import WEBSOCKET_MAX_MESSAGE_BYTES

    argv, _ = panel_command(args())
    i = argv.index("--websocket-max-message-size")
    assert int(argv[i + 1]) == WEBSOCKET_MAX_MESSAGE_BYTES
    base64 = 4 / 3  # FileInput sends the file base64-encoded in one message
    assert WEBSOCKET_MAX_MESSAGE_BYTES > base64 * 30_000_000 + 2**20 > base64 * MAX_BYTES
