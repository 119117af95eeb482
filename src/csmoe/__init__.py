"""csmoe: a reproducible pipeline for the CSMoE remote-sensing foundation model."""

__version__ = "0.1.0"
