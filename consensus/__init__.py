"""Consensus: the pure Tendermint engine and its deterministic simulation
(``consensus.engine``), and the node that runs the engine and the ledger on
the network and on disk (``consensus.node``: WAL, double-sign guard, p2p,
mempool, block sync, threshold ceremonies, the JSON-RPC server).

Imports go down only: consensus may import ledger and vm, never cli; the
engine never imports the node.
"""
