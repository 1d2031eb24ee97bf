"""Tests of the threshold key on chain."""
