"""Running the workflow on SLURM: why a cluster job failed (``csmoe cluster explain``)."""
