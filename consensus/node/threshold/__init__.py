"""The threshold ceremonies as one validator node runs them: its part in
each attempt (``runs``, pure), the service that drives them over p2p and
reports results on chain (``service``), and its secrets at rest (``store``)."""
