"""Tests of policy accounts and governance."""
