"""The ledger: the rule book of the chain.

- the core (``ledger/*.py``): canonical encoding, crypto, addresses, the
  transaction envelope, blocks and receipts, state, the state tree, the
  store, genesis, parameters, the chain, and the pure state transition as a
  list of named steps that reads the registry (ledger.registry);
- ``ledger.threshold``: the threshold cryptography library (FROST, DKG,
  resharing), generic crypto the features build on;
- ``ledger.features``: one folder per chain feature, each registering its
  body kinds, end-of-block steps and genesis steps;
- ``ledger.client``: the Python client for users (wire formats only).

Importing the package installs the features into the registry, once, so
every program that uses the ledger runs the same rule book; no core module
imports a feature. Imports go down only: ledger may import vm, never
consensus or cli.
"""

from ledger.features import END_BLOCK_ORDER, FEATURES, GENESIS_ORDER
from ledger.registry import RULES

RULES.install(FEATURES, END_BLOCK_ORDER, GENESIS_ORDER)
