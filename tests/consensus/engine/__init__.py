"""Tests of the pure consensus engine and its simulation."""
