"""The JSON-RPC 2.0 server, the node's edge: what users and tools query and
submit through.

``server`` is the aiohttp application (POST / for JSON-RPC, /ws, /health,
/status, /metrics); ``dispatch`` applies the JSON-RPC 2.0 rules; ``methods``
holds the ``ledger_*`` method table (``asset_queries`` adds the asset,
barter, policy and governance queries); ``json_format`` turns blocks,
transactions and receipts into their documented JSON objects, with the
features' own shapes from their ``rpc_json`` modules (ledger/features/);
``node_view`` is the protocol a node implements to be served; ``events`` is
the in-process hub a node publishes commits to. The nodes that implement
NodeView are ``consensus.node.node.Node`` and ``consensus.node.local_node``
(a single-node development chain). The error codes both ends share are
ledger.rpc_errors.

The wire format is specified in docs/spec/rpc.md.
"""
