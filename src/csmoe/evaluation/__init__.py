"""Frozen-feature probing (linear, UPerNet), [CLS] strategies, CBIR, checkpoint sweeps."""
