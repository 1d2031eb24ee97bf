"""Threshold keys on secp256k1: FROST signing (RFC 9591, FROST(secp256k1,
SHA-256)), a distributed key generation with no dealer (PedPop: Feldman VSS
with proofs of possession, complaints and justifications), and resharing of
an existing key to a new member set and threshold without changing the group
public key.

Everything here is pure: no I/O, no clock, and randomness only through an
injected ``rng`` (a function from a byte count to that many random bytes;
production callers pass ``os.urandom``). Messages are frozen dataclasses; the
caller carries them between members, broadcasting what the protocol says to
broadcast and sending secret shares over private authenticated links.

Modules, bottom up: ``errors`` (typed failures), ``group`` (secp256k1 on
libsecp256k1 via coincurve) and ``group_reference`` (the same on python-ecdsa,
for cross-checks), ``hashing`` (RFC 9591 H1..H5 and the ceremony hashes),
``polynomial``, ``proofs`` (Schnorr proofs of knowledge), ``keys`` (key
packages, trusted-dealer keygen of RFC 9591 Appendix C), ``vss`` (Feldman
commitments), ``ceremony`` (complaints, justifications, agreement check),
``frost``, ``dkg`` and ``reshare``.
"""
