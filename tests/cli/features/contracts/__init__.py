"""Tests of the contract commands."""
