"""A signer process for the double-sign crash test.

Run as ``python -m tests.consensus.node.privval_crash_signer GUARD_FILE SEED``. It
resumes at the guard's last height and signs every step of two rounds of
every height, choosing at random between two different messages for each
position (as a nondeterministic engine might after a restart). After each
signature it prints ``height round step digest signature`` (hex); a refusal
prints ``refused height round step``. The test SIGKILLs it at random moments.
"""

from __future__ import annotations

import random
import sys

from consensus.node.privval import DoubleSignGuard, DoubleSignRefused, GuardedSigner, Step
from ledger.crypto import SigningKey, sha256, signing_digest

KEY = SigningKey(sha256(b"privval crash test key"))
CHAIN_ID = "crash-chain"
DOMAIN = "ledger/test-vote/v1"


def main(guard_path: str, seed: int) -> None:
    rng = random.Random(seed)
    signer = GuardedSigner(KEY, DoubleSignGuard(guard_path))
    last = signer.guard.last
    height = last.height if last is not None else 1
    print("ready", flush=True)
    while True:
        for round_ in range(2):
            for step in Step:
                payload = (height, round_, int(step), rng.randrange(2))
                try:
                    signature = signer.sign(height, round_, step, DOMAIN, CHAIN_ID, payload)
                except DoubleSignRefused:
                    print("refused", height, round_, int(step), flush=True)
                    continue
                digest = signing_digest(DOMAIN, CHAIN_ID, payload)
                print(height, round_, int(step), digest.hex(), signature.hex(), flush=True)
        height += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
