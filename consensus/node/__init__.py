"""The node: the engine and the ledger on the network and on disk. WAL,
double-sign guard, p2p, mempool, block sync, the application glue, the I/O
side of the threshold ceremonies (``threshold``) and the JSON-RPC server
(``rpc``), the node's edge."""
