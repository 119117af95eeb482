from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sampling_fixtures import write_geotiff

from csmoe.errors import ConfigError, InputError
from csmoe.sampling import descriptors, rasters

POINTS = pd.DataFrame(  # one point in the middle of each of the tiny rasters' 8 pixels
    {
        "grid_row_u": np.arange(8),
        "grid_col_r": np.arange(8),
        "centre_lat": [45.0] * 4 + [-45.0] * 4,
        "centre_lon": [-135.0, -45.0, 45.0, 135.0] * 2,
    }
)


def test_describe_crosswalk_and_drops(tiny_rasters):
    out = descriptors.describe(POINTS, tiny_rasters)
    assert list(out.columns) == descriptors.COLUMNS
    # kept: Af/IGBP2->10, BWh/16->60, Aw/12->40, Dfb/13->50, ET/15->70
    # dropped: ocean (2 pixels) and IGBP nodata under EF
    assert list(out["climate"]) == ["Af", "BWh", "Aw", "Dfb", "ET"]
    assert list(out["landcover"]) == [10, 60, 40, 50, 70]
    assert list(out["grid_cell"]) == ["0U_0R", "1U_1R", "4U_4R", "6U_6R", "7U_7R"]


def test_igbp_water_is_worldcover_water(tmp_path, tiny_rasters):
    igbp = np.zeros((2, 4), dtype=np.uint8)  # all IGBP 0 (water) -> WorldCover 80
    tif = write_geotiff(tmp_path / "water.tif", igbp, nodata=255)
    cfg = {**tiny_rasters, "landcover": {"source": "mcd12c1", "path": str(tif)}}
    out = descriptors.describe(POINTS, cfg)
    assert set(out["landcover"]) == {80}
    assert len(out) == 6  # the two ocean climate pixels are still dropped


def test_png_is_georeferenced(tiny_rasters):
    da = rasters.open_raster(tiny_rasters["climate"])
    assert da.rio.crs.to_epsg() == 4326
    assert tuple(da.rio.transform())[:6] == (90.0, 0.0, -180.0, 0.0, -90.0, 90.0)


def test_worldcover_tiles_by_glob(tmp_path, tiny_rasters):
    # two tiles, each covering one hemisphere of longitude
    west = np.array([[10, 20], [30, 0]], dtype=np.uint8)  # 0 = WorldCover nodata
    east = np.array([[95, 100], [80, 90]], dtype=np.uint8)
    write_geotiff(tmp_path / "wc_W.tif", west, bounds=(-180, -90, 0, 90), nodata=0)
    write_geotiff(tmp_path / "wc_E.tif", east, bounds=(0, -90, 180, 90), nodata=0)
    cfg = {
        **tiny_rasters,
        "landcover": {"source": "worldcover", "worldcover_tiles": [str(tmp_path / "wc_*.tif")]},
    }
    out = descriptors.describe(POINTS, cfg)
    # north: Af->10, BWh->20, (ocean), EF->100; south: Aw->30, (ocean), Dfb->80, ET->90
    assert dict(zip(out["climate"], out["landcover"], strict=True)) == {
        "Af": 10,
        "BWh": 20,
        "EF": 100,
        "Aw": 30,
        "Dfb": 80,
        "ET": 90,
    }


def test_block_reader_matches_whole_load(tmp_path, monkeypatch):
    values = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)
    tif = write_geotiff(tmp_path / "big.tif", values, bounds=(0, 0, 64, 48))
    da = rasters.open_raster(tif)
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(0, 48, 500), rng.uniform(0, 64, 500)
    whole = rasters.sample_points(da, lat, lon, fill=0)
    monkeypatch.setattr(rasters, "_LOAD_WHOLE_PX", 1)
    monkeypatch.setattr(rasters, "_BLOCK", 16)
    np.testing.assert_array_equal(rasters.sample_points(da, lat, lon, fill=0), whole)
    np.testing.assert_array_equal(whole, values[(48 - lat).astype(int), lon.astype(int)])


def test_wrong_crs_names_the_file(tmp_path, tiny_rasters):
    tif = write_geotiff(
        tmp_path / "mercator.tif",
        np.ones((2, 4), np.uint8),
        crs="EPSG:3857",
        bounds=(-2e7, -2e7, 2e7, 2e7),
    )
    cfg = {**tiny_rasters, "landcover": {"source": "mcd12c1", "path": str(tif)}}
    with pytest.raises(InputError, match=r"mercator\.tif.*EPSG:3857"):
        descriptors.describe(POINTS, cfg)


def test_missing_and_corrupt_rasters(tmp_path, tiny_rasters):
    with pytest.raises(InputError, match=r"nope\.png: raster file not found"):
        descriptors.describe(POINTS, {**tiny_rasters, "climate": str(tmp_path / "nope.png")})
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    cfg = {**tiny_rasters, "landcover": {"source": "mcd12c1", "path": str(bad)}}
    with pytest.raises(InputError, match=r"bad\.tif: cannot read raster"):
        descriptors.describe(POINTS, cfg)
    bad_png = tmp_path / "bad.png"
    bad_png.write_bytes(b"\x89PNG garbage")
    with pytest.raises(InputError, match=r"bad\.png: cannot read PNG"):
        descriptors.describe(POINTS, {**tiny_rasters, "climate": str(bad_png)})
    with pytest.raises(InputError, match="no WorldCover tile matches"):
        descriptors.describe(
            POINTS,
            {
                **tiny_rasters,
                "landcover": {
                    "source": "worldcover",
                    "worldcover_tiles": [str(tmp_path / "none_*.tif")],
                },
            },
        )


def test_metadata_parquets(tmp_path, tiny_rasters):
    s2 = pd.DataFrame(
        {
            "grid_cell": ["0U_0R", "0U_0R", "3D_7L", "5U_1R"],
            "centre_lat": [45.0, 45.0, -45.0, 45.0],
            "centre_lon": [-135.0, -135.0, -45.0, -45.0],
        }
    )
    s1 = s2.iloc[[0, 2]]  # 5U_1R has no S1 tile
    s2.to_parquet(tmp_path / "s2.parquet")
    s1.to_parquet(tmp_path / "s1.parquet")
    cells = descriptors.metadata_cells([tmp_path / "s2.parquet", tmp_path / "s1.parquet"])
    assert list(cells["grid_cell"]) == ["0U_0R", "3D_7L"]
    assert list(cells["grid_row_u"]) == [0, -3] and list(cells["grid_col_r"]) == [0, -7]
    cfg = {
        **tiny_rasters,
        "archive": {"source": "metadata", "metadata": [str(tmp_path / "s2.parquet")]},
    }
    out = descriptors.build_archive(cfg)
    assert list(out["grid_cell"]) == ["0U_0R", "5U_1R"]  # 3D_7L lies on ocean


def test_metadata_missing_columns(tmp_path):
    pd.DataFrame({"grid_cell": ["0U_0R"], "lat": [1.0]}).to_parquet(tmp_path / "m.parquet")
    with pytest.raises(InputError, match=r"m\.parquet: metadata parquet lacks columns"):
        descriptors.metadata_cells([tmp_path / "m.parquet"])
    with pytest.raises(ConfigError):
        descriptors.metadata_cells([])


def test_real_rasters_spot_checks():
    # Sahara (southern Algeria) is hot desert / bare; western Amazonia tropical rainforest / trees
    points = pd.DataFrame(
        {
            "grid_row_u": [0, 1],
            "grid_col_r": [0, 1],
            "centre_lat": [23.0, -5.0],
            "centre_lon": [5.0, -65.0],
        }
    )
    out = descriptors.describe(points, {})
    assert list(out["climate"]) == ["BWh", "Af"]
    assert list(out["landcover"]) == [60, 10]


def test_no_common_cell_or_no_described_cell_is_an_error(tmp_path, tiny_rasters):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pd.DataFrame({"grid_cell": ["0U_0R"], "centre_lat": [45.0], "centre_lon": [-135.0]}).to_parquet(
        a
    )
    pd.DataFrame({"grid_cell": ["1U_1R"], "centre_lat": [45.0], "centre_lon": [-45.0]}).to_parquet(
        b
    )
    with pytest.raises(InputError, match=r"b\.parquet: no grid cell is in all of these files"):
        descriptors.metadata_cells([a, b])
    ocean = pd.DataFrame({"grid_cell": ["3D_7L"], "centre_lat": [-45.0], "centre_lon": [-45.0]})
    ocean.to_parquet(a)
    cfg = {**tiny_rasters, "archive": {"source": "metadata", "metadata": [str(a)]}}
    with pytest.raises(InputError, match="none of the 1 cells has both a climate and a land-cover"):
        descriptors.build_archive(cfg)


def test_damaged_pixel_data_names_the_raster(tmp_path, tiny_rasters):
    # the header reads fine; the compressed pixel block does not decode
    import rasterio

    values = np.random.default_rng(0).integers(0, 17, (180, 360)).astype(np.uint8)
    tif = tmp_path / "igbp.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=180,
        width=360,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=rasterio.transform.from_bounds(-180, -90, 180, 90, 360, 180),
        compress="deflate",
    ) as dst:
        dst.write(values, 1)
    data = bytearray(tif.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    tif.write_bytes(bytes(data))
    cfg = {**tiny_rasters, "landcover": {"source": "mcd12c1", "path": str(tif)}}
    with pytest.raises(InputError, match=r"igbp\.tif: cannot read raster pixels"):
        descriptors.describe(POINTS, cfg)
