# Stage 1-2: descriptors over the Major TOM grid, GA + random sampling, Table II, Fig. 3.
