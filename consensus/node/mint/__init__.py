"""The node's part in the mint: a validator's key holder duties (duties.py,
pure) and the service that runs them after every commit (service.py)."""
