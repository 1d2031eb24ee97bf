"""Tests of the node commands."""
