"""Consensus: the pure Tendermint BFT engine, its deterministic network
simulation, and (later) the WAL, double-sign guard, p2p reactor, mempool,
block sync and the Node that runs the ledger under consensus.

Imports go down only: consensus may import ledger and vm, never cli.
"""
