"""Fixtures for the sampling tests."""

from __future__ import annotations

import numpy as np
import pytest
from sampling_fixtures import write_geotiff


@pytest.fixture
def tiny_rasters(tmp_path):
    """4 x 2 global rasters: climate PNG and IGBP GeoTIFF (90 deg pixels).

    Climate (rows N, S; columns from 180W): north 1 (Af), 7 (BWh), 32 (ocean), 30 (EF);
    south 4 (Aw), 32, 19 (Dfb), 31 (ET). IGBP: north 2, 16, 0, 255 (nodata); south 12, 0, 13, 15.
    """
    from PIL import Image

    climate = np.array([[1, 7, 32, 30], [4, 32, 19, 31]], dtype=np.uint8)
    png = tmp_path / "climate.png"
    Image.fromarray(climate).save(png)
    igbp = np.array([[2, 16, 0, 255], [12, 0, 13, 15]], dtype=np.uint8)
    tif = write_geotiff(tmp_path / "igbp.tif", igbp, nodata=255)
    return {"climate": str(png), "landcover": {"source": "mcd12c1", "path": str(tif)}}
