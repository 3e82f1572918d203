"""``photospec serve``: argument checks and the ``panel serve`` command line (nothing is started)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from model.cli import main
import explorer
from model.commands.serve import panel_command
from model.errors import BadInputError
from tests.explorer.fakes import make_table

ROOT = Path(__file__).resolve().parents[2]


def args(**kw):
    base = dict(catalogue=None, port=5006, address="127.0.0.1", show=False)
    return argparse.Namespace(**{**base, **kw})


def test_panel_command_passes_catalogue_and_warm_up(tmp_path):
    cat = tmp_path / "c.parquet"
    make_table(50).to_parquet(cat)
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


def _garble_footer(path):
    """Overwrite the Parquet footer's schema with noise, keeping its length and the closing magic bytes."""
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[-8:-4], "little")
    data[-8 - n:-8] = bytes((37 * k + 11) % 256 for k in range(n))
    path.write_bytes(bytes(data))
    return path


def bad_catalogues(tmp_path) -> dict:
    """Files ``serve --catalogue`` must refuse, with the words the one-line error must hold."""
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    text_parquet = tmp_path / "text.parquet"
    text_parquet.write_text(passwd.read_text())
    table = make_table(20_000)
    truncated = tmp_path / "truncated.parquet"
    table.to_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-300])
    garbled = tmp_path / "garbled.parquet"
    table.to_parquet(garbled)
    _garble_footer(garbled)
    no_ugriz = tmp_path / "no-ugriz.parquet"
    table.drop(columns=[f"mag_{b}" for b in "ugriz"]).to_parquet(no_ugriz)
    r_and_redshift = tmp_path / "r-and-redshift.parquet"  # a redshift column z is no z magnitude
    table.drop(columns=[f"mag_{b}" for b in "ugiz"]).to_parquet(r_and_redshift)
    text_mags = tmp_path / "text-mags.parquet"
    table.assign(mag_r=table.mag_r.astype(str)).to_parquet(text_mags)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    return {passwd: "unsupported catalogue format", text_parquet: "not a readable Parquet file",
            truncated: "not a readable Parquet file", garbled: "not a readable Parquet file",
            no_ugriz: "needs r and at least one other ugriz magnitude",
            r_and_redshift: "needs r and at least one other ugriz magnitude", text_mags: "not numbers",
            empty_dir: "no Parquet files"}


def test_serve_refuses_a_bad_catalogue_before_serving_with_one_line(tmp_path, capfd, monkeypatch):
    def serve(exe, argv, env):
        raise AssertionError(f"a server was started for {env.get('PHOTOSPEC_CATALOGUE')}")

    monkeypatch.setattr("model.commands.serve.os.execve", serve)
    for path, words in bad_catalogues(tmp_path).items():
        assert main(["serve", "--catalogue", str(path), "--port", "1"]) == 1, path
        out, err = capfd.readouterr()
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1, (path, err)
        assert str(path) in lines[0] and words in lines[0], lines[0]


def test_a_corrupt_catalogue_that_reaches_the_explorer_names_its_file(tmp_path):
    from model.catalogue import Catalogue

    for path, words in bad_catalogues(tmp_path).items():
        with pytest.raises(BadInputError) as info:
            Catalogue.open(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value), info.value


def test_the_command_exits_1_without_a_traceback_or_a_server(tmp_path):
    passwd = next(iter(bad_catalogues(tmp_path)))
    proc = subprocess.run([sys.executable, "-m", "model.cli", "serve", "--catalogue", str(passwd),
                           "--port", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip() == f"photospec serve: error: {passwd}: unsupported catalogue format " \
                                  "(use Parquet or a FITS table)"


def test_good_catalogues_pass_the_check(tmp_path):
    from astropy.table import Table

    from model.catalogue import check_catalogue

    table = make_table(100)
    table.to_parquet(tmp_path / "good.parquet")
    (tmp_path / "dir").mkdir()
    table.iloc[:50].to_parquet(tmp_path / "dir" / "a.parquet")
    table.iloc[50:].to_parquet(tmp_path / "dir" / "b.parquet")
    fluxes = Table({f"MODELFLUX_{b.upper()}": 10 ** (-0.4 * (table[f"mag_{b}"].to_numpy() - 22.5)) for b in "ugriz"})
    fluxes.write(tmp_path / "fluxes.fits")
    for p in ("good.parquet", "dir", "fluxes.fits"):
        assert check_catalogue(tmp_path / p) == tmp_path / p


def test_extra_websocket_origins_for_a_classroom():
    argv, _ = panel_command(args(port=5123, address="0.0.0.0",
                                 allow_websocket_origin=["teacher-pc", "10.0.0.5:8080", "[::1]"]))
    assert {"--allow-websocket-origin=teacher-pc:5123", "--allow-websocket-origin=10.0.0.5:8080",
            "--allow-websocket-origin=[::1]:5123", "--allow-websocket-origin=0.0.0.0:5123"} <= set(argv)
    for bad in ("http://teacher-pc", "a b", "host:port", ""):
        with pytest.raises(BadInputError, match="not HOST or HOST:PORT"):
            panel_command(args(allow_websocket_origin=[bad]))
