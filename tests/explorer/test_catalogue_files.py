"""model.catalogue: column detection, derived columns, nearest/selection, files, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.catalogue import Catalogue, detect_columns
from model.errors import BadInputError
from tests.explorer.fakes import make_table


def test_detects_sdss_names_and_derives_colours(tmp_path):
    t = make_table(300).rename(columns={"mag_u": "petroMag_u", "mag_g": "g", "mag_r": "modelMag_r",
                                        "mag_i": "i", "mag_z": "cModelMag_z", "z": "redshift"})
    t.to_parquet(tmp_path / "c.parquet")
    cat = Catalogue.open(tmp_path / "c.parquet")
    for c in ("mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "u_r", "g_r", "r_i", "abs_mag_r", "z"):
        assert c in cat.df.columns
    np.testing.assert_allclose(cat.df.u_r, t.petroMag_u - t.modelMag_r, rtol=1e-5)
    # M_r = r − DM(z): at z≈0.1 the Planck18 distance modulus is ≈ 38.3
    i = int(np.argmin(np.abs(t.redshift.to_numpy() - 0.1)))
    assert cat.df.abs_mag_r.iloc[i] == pytest.approx(t.modelMag_r.iloc[i] - 38.3, abs=0.3)
    assert not cat.is_dask and not cat.is_mock


def test_missing_magnitudes_name_the_file_and_columns(tmp_path):
    pd.DataFrame({"ra": [1.0], "flux": [2.0]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(BadInputError, match=r"bad\.parquet.*missing mag_u, mag_g, mag_r"):
        Catalogue.open(tmp_path / "bad.parquet")
    with pytest.raises(BadInputError, match="no such file"):
        Catalogue.open(tmp_path / "absent.parquet")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(BadInputError, match="unsupported catalogue format"):
        Catalogue.open(tmp_path / "x.txt")
    assert detect_columns(["R", "G"]) == {"mag_r": "R", "mag_g": "G"}


def test_a_column_named_z_is_the_redshift_unless_beside_bare_ugri():
    with pytest.raises(BadInputError, match="missing mag_u, mag_g, mag_i, mag_z"):
        detect_columns(["mag_r", "z"], "t.parquet")
    assert detect_columns(["mag_r", "mag_g", "z"]) == {"mag_g": "mag_g", "mag_r": "mag_r", "z": "z"}
    found = detect_columns(["u", "g", "r", "i", "z", "redshift"])
    assert found["mag_z"] == "z" and found["z"] == "redshift"


def test_fits_table_with_sdss_flux_vectors(tmp_path):
    from astropy.io import fits

    flux = np.array([[10.0, 40.0, 100.0, 150.0, 200.0], [5.0, 20.0, 50.0, 70.0, 90.0]])
    cols = [fits.Column("MODELFLUX", "5E", array=flux), fits.Column("Z", "E", array=[0.1, 0.05])]
    fits.BinTableHDU.from_columns(cols).writeto(tmp_path / "t.fits")
    cat = Catalogue.open(tmp_path / "t.fits")
    assert cat.df.mag_r.iloc[0] == pytest.approx(22.5 - 2.5 * np.log10(100.0), abs=1e-4)
    assert list(cat.ids()) == [0, 1]


def test_nearest_uses_screen_normalised_distance(catalogue):
    df = catalogue.df
    k = 17
    gid = catalogue.nearest("u_r", "abs_mag_r", float(df.u_r.iloc[k]), float(df.abs_mag_r.iloc[k]))
    assert gid == df.galaxy_id.iloc[k]
    # normalised by the visible ranges: 3 of 100 in x is nearer than 0.05 of 0.1 in y
    t = pd.DataFrame({"mag_r": [0.0, 3.0], "mag_g": [0.05, 0.0], "galaxy_id": [1, 2]})
    c = Catalogue.from_frame(t)
    assert c.nearest("mag_r", "mag_g", 0.0, 0.0, x_range=(0, 100), y_range=(-0.05, 0.05)) == 2
    assert c.nearest("mag_r", "mag_g", 0.0, 0.0, x_range=(0, 1), y_range=(0, 1)) == 1
    row = catalogue.row(gid)
    assert row["galaxy_id"] == gid and isinstance(row["galaxy_id"], int)
    with pytest.raises(BadInputError, match="no galaxy with galaxy_id 5"):
        catalogue.row(5)


def test_box_and_lasso_selection(catalogue):
    x, y = catalogue.df.u_r.to_numpy(), catalogue.df.abs_mag_r.to_numpy()
    box = catalogue.select_box("u_r", "abs_mag_r", 3.0, 2.0, -21.0, -23.0)
    np.testing.assert_array_equal(box, (x >= 2) & (x <= 3) & (y >= -23) & (y <= -21))
    square = [(2, -23), (3, -23), (3, -21), (2, -21)]
    lasso = catalogue.select_polygon("u_r", "abs_mag_r", square)
    assert lasso.sum() == pytest.approx(box.sum(), abs=2)  # boundary points may differ
    tri = catalogue.select_polygon("u_r", "abs_mag_r", [(2, -23), (3, -23), (2, -21)])
    assert 0 < tri.sum() < box.sum()


def test_plain_catalogue_has_no_images(catalogue):
    with pytest.raises(BadInputError, match="has no images"):
        catalogue.cutout(100)
    assert catalogue.true_spectrum(100) is None


def test_dask_for_large_parquet_directories(tmp_path, monkeypatch):
    import model.catalogue as mc

    d = tmp_path / "parts"
    d.mkdir()
    for k in range(3):
        make_table(200, seed=k).assign(galaxy_id=lambda t, k=k: t.galaxy_id + 1000 * k).to_parquet(d / f"p{k}.parquet")
    monkeypatch.setattr(mc, "DASK_ROWS", 100)
    cat = Catalogue.open(d)
    assert cat.is_dask and len(cat) == 600
    gid = cat.nearest("u_r", "abs_mag_r", 2.5, -21.5)
    assert cat.row(gid)["galaxy_id"] == gid
