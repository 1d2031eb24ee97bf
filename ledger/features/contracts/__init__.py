"""Contracts in the ledger: deploy, call and fund, the VM's host over the
state, messages and mailboxes, resource credits, rent and eviction."""
