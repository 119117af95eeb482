# downloads of the real archives (paper.yaml)
