# downstream datasets: GEO-Bench and BigEarthNet-v2 (generated or real)
