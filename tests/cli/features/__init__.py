"""Tests of the feature commands, one folder per feature."""
