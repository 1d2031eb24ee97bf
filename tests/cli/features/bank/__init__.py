"""Tests of the asset and transfer commands."""
