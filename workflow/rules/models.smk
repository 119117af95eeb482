# models stage rules (see docs/ARCHITECTURE.md)
