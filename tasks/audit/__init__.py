"""Bias audit of corpora and models (issue #4): lexicon groups, counts, gates, mitigations."""
