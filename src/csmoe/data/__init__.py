"""Real data: band conventions, readers of Major TOM Core, GEO-Bench and BigEarthNet-v2, patch
extraction, the patch store and its training loaders. Imports neither the generated mini world
(:mod:`csmoe.world`) nor the downloads (:mod:`csmoe.downloads`)."""
