"""Tests for the consensus package."""
