"""The validators' threshold key on chain: the group record, the ceremony
registry, signing requests and ceremony results. The cryptography is the core
library ledger.threshold; the ceremonies' I/O is consensus.node.node.threshold."""
