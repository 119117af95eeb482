"""Readers (Major TOM Core, GEO-Bench, BigEarthNet-v2), patch store, mini world, downloads."""
