"""The pure consensus engine: the Tendermint state machine, the messages,
votes, certificates and evidence it works with, and the deterministic
simulation of Byzantine networks that tests it. No I/O, no clock, no
randomness of its own."""
