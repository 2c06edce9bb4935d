"""Evaluate stage: test-split metrics and plots, and the candidate-vs-champion comparison (no MLflow)."""
