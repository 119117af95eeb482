"""Downloads of the real archives (paper.yaml): the protocol (:mod:`.protocol`: resumable,
retried, checksum-verified fetches, HTTP range reads, archives) and what each data set fetches
(:mod:`.sets`)."""
