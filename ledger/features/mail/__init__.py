"""Anonymous mail: the cryptography of the validators' verifiable mix.

A letter is sealed end-to-end to its recipient (``letters``), embedded in a
fixed-size cell of W curve points (``embedding``), ElGamal-encrypted to the
mail key the validators share (``elgamal``) and submitted with a proof of
knowledge of its encryption randomness bound to its sender (``submission``).
Batches are re-encrypted and permuted by several validators in turn
(``shuffle``), each with a Terelius-Wikström proof of shuffle
(``shuffle_proof``), then decrypted by t of them with Chaum-Pedersen proofs
(``decryption``). ``wire`` holds the canonical byte encodings.

Everything here is pure: no I/O, no clock, randomness only through an
injected ``rng`` (n -> n random bytes; production passes ``os.urandom``).
Values are frozen dataclasses; every verifier is deterministic, takes a
``backend`` (``curve.LIBSECP256K1``, or ``curve_reference.PYTHON_ECDSA`` to
cross-check) and has a cost function counting the scalar multiplications it
runs, for the chain to charge. Every bad input raises a subclass of
``errors.MailError``.

Modules, bottom up: ``errors``, ``params`` (sizes), ``transcript``
(domain-separated hashes, hedged nonces), ``hash_to_curve`` (RFC 9380 and
the independent generators), ``curve`` and ``curve_reference`` (the two
arithmetic backends), ``embedding``, ``letters``, ``elgamal``,
``submission``, ``shuffle``, ``shuffle_proof``, ``decryption``, ``wire``.
The key itself (DKG, resharing) is the threshold library's
(``ledger.threshold``); the chain feature that runs batches comes on top.
docs/spec/mail.md states formats and the trust model.
"""
