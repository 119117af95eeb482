"""Major TOM grid, thematic-climatic descriptors (Alg. 1), GA and random sampling (Alg. 2)."""
