"""Tests of the policy and governance commands."""
