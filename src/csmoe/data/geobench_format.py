"""The GEO-Bench v1.0 format: the six tasks of the paper, their band names and classes.

Shared by the reader (:mod:`csmoe.data.geobench`) and the writer of generated sets
(:mod:`csmoe.world.geobench_world`), so both agree on band names, channel order, units and
class lists by construction. How the files themselves are pickled and written:
:mod:`csmoe.data.geobench_pickle`.
"""

from __future__ import annotations

from dataclasses import dataclass

from csmoe.data.bands import S2_ALL_BANDS, S2_L2A_BANDS
from csmoe.errors import ConfigError

# ---- bands -------------------------------------------------------------------------------

# GEO-Bench's Sentinel-2 band names (geobench.dataset.sentinel2_13_bands), by band code
S2_NAMES = {
    "B01": "01 - Coastal aerosol",
    "B02": "02 - Blue",
    "B03": "03 - Green",
    "B04": "04 - Red",
    "B05": "05 - Vegetation Red Edge",
    "B06": "06 - Vegetation Red Edge",
    "B07": "07 - Vegetation Red Edge",
    "B08": "08 - NIR",
    "B8A": "08A - Vegetation Red Edge",
    "B09": "09 - Water vapour",
    "B10": "10 - SWIR - Cirrus",
    "B11": "11 - SWIR",
    "B12": "12 - SWIR",
}
# (alt names, native resolution m, wavelength µm) as in geobench.dataset.sentinel2_13_bands
S2_INFO = {
    "B01": (("1", "01"), 60, 0.443),
    "B02": (("2", "02", "blue"), 10, 0.49),
    "B03": (("3", "03", "green"), 10, 0.56),
    "B04": (("4", "04", "red"), 10, 0.665),
    "B05": (("5", "05"), 20, 0.705),
    "B06": (("6", "06"), 20, 0.74),
    "B07": (("7", "07"), 20, 0.783),
    "B08": (("8", "08", "NIR"), 10, 0.842),
    "B8A": (("8A", "08A"), 20, 0.865),
    "B09": (("9", "09"), 60, 0.945),
    "B10": (("10",), 60, 1.375),
    "B11": (("11",), 20, 1.61),
    "B12": (("12",), 20, 2.19),
}
# So2Sat's eight Sentinel-1 channels (geobench.dataset.sentinel1_8_bands)
S1_SO2SAT = (
    "01 - VH.Real",
    "02 - VH.Imaginary",
    "03 - VV.Real",
    "04 - VV.Imaginary",
    "05 - VH.LEE Filtered",
    "06 - VV.LEE Filtered",
    "07 - VH.LEE Filtered.Real",
    "08 - VV.LEE Filtered.Imaginary",
)
CLOUD = "Cloud Probability"
LABEL = "label"

_S2_13 = S2_ALL_BANDS  # B01..B08, B8A, B09, B10, B11, B12 (GEO-Bench's order too)
_S2_12 = S2_L2A_BANDS


# ---- tasks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One GEO-Bench task: what is stored and what each stored channel really holds.

    ``stored`` are the band names as written in the files, in file order; ``content`` is the
    band each of those channels actually contains. They differ for m-eurosat and m-brick-kiln
    in the published geo-bench-1.0 data (ServiceNow/geo-bench issues #28, #29: names in the
    standard order, pixels in another), so the reader maps channels by position, not by name.
    ``s2_scale`` brings stored S2 values to reflectance ×10 000 (So2Sat stores reflectance).
    """

    name: str
    benchmark: str
    size: int
    kind: str  # multilabel | multiclass | segmentation
    class_names: tuple[str, ...]
    stored: tuple[str, ...]
    content: tuple[str, ...]
    metric: str
    s2_scale: float = 1.0
    dated: bool = False  # cashew: band datasets carry a date suffix ("02 - Blue_2019-11-05")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_s1(self) -> bool:
        return "VV" in self.content


def _s2_names(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(S2_NAMES[c] for c in codes)


# 43 BigEarthNet v1 classes in the original order (torchgeo BigEarthNet.class_sets[43],
# bigearthnet_common.constants.OLD_LABELS_ORIGINAL_ORDER)
BEN43 = (
    "Continuous urban fabric",
    "Discontinuous urban fabric",
    "Industrial or commercial units",
    "Road and rail networks and associated land",
    "Port areas",
    "Airports",
    "Mineral extraction sites",
    "Dump sites",
    "Construction sites",
    "Green urban areas",
    "Sport and leisure facilities",
    "Non-irrigated arable land",
    "Permanently irrigated land",
    "Rice fields",
    "Vineyards",
    "Fruit trees and berry plantations",
    "Olive groves",
    "Pastures",
    "Annual crops associated with permanent crops",
    "Complex cultivation patterns",
    "Land principally occupied by agriculture, with significant areas of natural vegetation",
    "Agro-forestry areas",
    "Broad-leaved forest",
    "Coniferous forest",
    "Mixed forest",
    "Natural grassland",
    "Moors and heathland",
    "Sclerophyllous vegetation",
    "Transitional woodland/shrub",
    "Beaches, dunes, sands",
    "Bare rock",
    "Sparsely vegetated areas",
    "Burnt areas",
    "Inland marshes",
    "Peatbogs",
    "Salt marshes",
    "Salines",
    "Intertidal flats",
    "Water courses",
    "Water bodies",
    "Coastal lagoons",
    "Estuaries",
    "Sea and ocean",
)
# torchgeo So2Sat.classes (local climate zones)
SO2SAT17 = (
    "Compact high rise",
    "Compact mid rise",
    "Compact low rise",
    "Open high rise",
    "Open mid rise",
    "Open low rise",
    "Lightweight low rise",
    "Large low rise",
    "Sparsely built",
    "Heavy industry",
    "Dense trees",
    "Scattered trees",
    "Bush, scrub",
    "Low plants",
    "Bare rock or paved",
    "Bare soil or sand",
    "Water",
)
EUROSAT10 = (
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
)
BRICK2 = ("not brick kiln", "brick kiln")
CASHEW7 = (
    "no data",
    "well-managed plantation",
    "poorly-managed plantation",
    "non-plantation",
    "residential",
    "background",
    "uncertain",
)
SACROP10 = (
    "No Data",
    "Lucerne/Medics",
    "Planted pastures (perennial)",
    "Fallow",
    "Wine grapes",
    "Weeds",
    "Small grain grazing",
    "Wheat",
    "Canola",
    "Rooibos",
)

CLS = "classification_v1.0"
SEG = "segmentation_v1.0"
TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "m-bigearthnet", CLS, 120, "multilabel", BEN43, _s2_names(_S2_12), _S2_12, "mAP_micro"
        ),
        Task(
            "m-brick-kiln",
            CLS,
            64,
            "multiclass",
            BRICK2,
            _s2_names(_S2_13),
            # issue #29: no B06/B09/B10; the last three channels are 8-bit true-colour
            (
                "B01",
                "B02",
                "B03",
                "B04",
                "B05",
                "B07",
                "B8A",
                "B08",
                "B11",
                "B12",
                "TCI_R",
                "TCI_G",
                "TCI_B",
            ),
            "AA",
        ),
        Task(
            "m-so2sat",
            CLS,
            32,
            "multiclass",
            SO2SAT17,
            S1_SO2SAT + _s2_names((*_S2_12[1:9], "B11", "B12")),
            # Lee-filtered intensities (linear) are what the model's dB VV/VH come from
            (
                "VH_re",
                "VH_im",
                "VV_re",
                "VV_im",
                "VH",
                "VV",
                "VH_lee_re",
                "VV_lee_im",
                *_S2_12[1:9],
                "B11",
                "B12",
            ),
            "AA",
            s2_scale=10_000.0,
        ),
        Task(
            "m-eurosat",
            CLS,
            64,
            "multiclass",
            EUROSAT10,
            _s2_names(_S2_13),
            # issue #28: B8A is stored last, the names are in the standard order
            (
                "B01",
                "B02",
                "B03",
                "B04",
                "B05",
                "B06",
                "B07",
                "B08",
                "B09",
                "B10",
                "B11",
                "B12",
                "B8A",
            ),
            "AA",
        ),
        Task(
            "m-cashew-plant",
            SEG,
            256,
            "segmentation",
            CASHEW7,
            (*_s2_names(_S2_12), CLOUD),
            (*_S2_12, "CLD"),
            "mIoU",
            dated=True,
        ),
        Task(
            "m-SA-crop-type",
            SEG,
            256,
            "segmentation",
            SACROP10,
            (*_s2_names(_S2_12), CLOUD),
            (*_S2_12, "CLD"),
            "mIoU",
        ),
    )
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ConfigError(f"unknown GEO-Bench task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]
