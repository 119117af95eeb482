"""The generated mini world: synthetic scenes written as Major TOM Core, GEO-Bench and
BigEarthNet-v2 data, so that the default config runs without real imagery. It writes the real
formats through :mod:`csmoe.data`; nothing in :mod:`csmoe.data` imports it."""
