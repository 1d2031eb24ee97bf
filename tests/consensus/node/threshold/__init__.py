"""Tests of the threshold ceremonies as a node runs them."""
