"""Tests for the cli package."""
