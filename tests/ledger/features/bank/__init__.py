"""Tests of the bank feature: assets and validator credits."""
