# evaluate stage rules (see docs/ARCHITECTURE.md)
