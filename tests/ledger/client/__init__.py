"""Tests of the client library's keystore."""
