"""Tests of the threshold key commands."""
