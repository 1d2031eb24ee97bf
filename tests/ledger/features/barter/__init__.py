"""Tests of the barter feature."""
