"""Tests of the node: mempool, p2p, WAL, double-sign guard."""
