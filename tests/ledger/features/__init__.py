"""Tests for the chain features, one folder each."""
