"""Accelerate pretraining loop, schedules, checkpoints."""
