"""Tests of the anonymous mail commands."""
