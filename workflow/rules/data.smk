# data stage rules (see docs/ARCHITECTURE.md)
