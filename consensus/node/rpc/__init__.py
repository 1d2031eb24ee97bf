"""The JSON-RPC 2.0 server: what users and tools query and submit through.

``server`` is the aiohttp application (POST / for JSON-RPC, /ws, /health,
/status, /metrics); ``dispatch`` applies the JSON-RPC 2.0 rules; ``methods``
holds the ``ledger_*`` method table; ``json_format`` turns blocks,
transactions and receipts into their documented JSON objects; ``node_view``
is the protocol a node implements to be served; ``events`` is the in-process
hub a node publishes commits to. The nodes that implement NodeView live in
consensus/ (``consensus.node.local_node`` for a single-node development chain).

The wire format is specified in docs/spec/rpc.md.
"""
