"""The e-cash mint's cryptography: Cashu's blind Diffie-Hellman key exchange
(NUT-00) with DLEQ proofs (NUT-12), keyset ids (NUT-02), token
serialization (NUT-00 V3 ``cashuA`` and V4 ``cashuB``), and the threshold
versions the validators run: blind signatures and note evaluations by t of
n key holders, with a DLEQ proof produced jointly that a plain Cashu wallet
verifies (docs/adr/0020-threshold-blind-signatures.md).

Everything here is pure: no I/O, no clock, randomness only through an
injected ``rng`` (n -> n random bytes). Values are frozen dataclasses and
ints; points are ``ledger.threshold.group.Point``. The chain feature
(transactions, state, ceremonies) builds on these functions.

Modules, bottom up:

- ``errors``: typed failures of tokens and keysets (the crypto raises the
  ``ledger.threshold.errors`` types, naming culprits where there are some);
- ``curve``: the few point operations the mint needs beyond
  ``ledger.threshold.group`` (uncompressed encoding, one-pass linear
  combinations);
- ``bdhke``: hash_to_curve, blinding, signing, unblinding, verification;
- ``dleq``: NUT-12 proofs for one key holder (deterministic nonce) and
  their verification, on a blind signature and on an unblinded note;
- ``keysets``: denominations, amount splitting, NUT-02 keyset ids;
- ``evaluation``: a key holder's share k_i*P with a Chaum-Pedersen proof
  against its verification share, and the combination of t of them; used
  for redemption (P = Y) and inside issuance (P = B_);
- ``issuance``: the two-round threshold blind signature with its jointly
  produced NUT-12 proof;
- ``redemption``: the threshold check of a note (secret, C);
- ``wire``: fixed-size binary encodings of the ceremony messages;
- ``cbor``: the strict, bounded subset of CBOR that V4 tokens use;
- ``tokens``: notes and tokens, encoded and decoded.
"""
