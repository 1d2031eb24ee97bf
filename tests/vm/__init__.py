"""Tests for the vm package."""
