"""The ledger: canonical encoding, crypto, transactions and blocks, state and
the pure state transition, the authenticated state map, the LevelDB store,
genesis, JSON-RPC, assets, barter, policy accounts and threshold keys.

Imports go down only: ledger may import vm, never consensus or cli.
"""
