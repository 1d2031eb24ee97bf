"""Tests of the chain's features, one folder per feature."""
