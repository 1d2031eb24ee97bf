"""The ceremony state machines of the node, driven deterministically in one
process: messages delivered by a loop, heights advanced by hand, members
that die mid-ceremony. Checks what the chain will see (equal reports, a
valid signature) and the order of outputs (persist before send)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from consensus.node.threshold.runs import (
    CeremonyRun,
    Finished,
    KeySetRun,
    Output,
    RunContext,
    SaveKey,
    SaveNonces,
    Send,
    SpendNonces,
    SubmitResult,
    attempt_at,
    new_run,
    session_id,
    takes_part,
)
from ledger.address import address_of
from ledger.crypto import SigningKey, sha256
from ledger.features.threshold.ceremonies import (
    KIND_DKG,
    KIND_RESHARE,
    KIND_SIGN,
    PHASE_BLOCKS,
    Ceremony,
    Group,
    decode_keygen_result,
)
from ledger.features.threshold.key_sets import KeySet
from ledger.threshold import frost
from ledger.threshold.group import ORDER, base_mul, encode_element
from ledger.threshold.keys import KeyPackage
from ledger.threshold.polynomial import derive_interpolating_value

CHAIN = "runs-test"
KEYS = sorted(
    (SigningKey(sha256(b"runs test validator %d" % i)) for i in range(6)),
    key=lambda k: address_of(k.public_key),
)
START = 11


def _rng(seed: int):  # type: ignore[no-untyped-def]
    return random.Random(seed).randbytes


def _ceremony(
    kind: int,
    members: list[SigningKey],
    threshold: int,
    message: bytes = b"",
    key_set: str = "",
    key_count: int = 1,
) -> Ceremony:
    return Ceremony(
        7,
        kind,
        0,
        START - 1,
        START + 400,
        b"",
        0,
        threshold,
        tuple(k.public_key for k in members),
        message,
        key_set=key_set,
        key_count=key_count,
    )


def drive(
    runs: dict[bytes, CeremonyRun], dies_after: dict[bytes, int] | None = None, blocks: int = 40
) -> dict[bytes, list[Output]]:
    """Deliver every Send to every other run, step all at each height; a member
    in ``dies_after`` stops (sends nothing more, steps no more) after that many
    sends. Returns every member's outputs in order."""
    dies_after = dies_after or {}
    outputs: dict[bytes, list[Output]] = {k: [] for k in runs}
    sends = dict.fromkeys(runs, 0)
    alive = set(runs)
    queue: list[tuple[bytes, Send]] = []

    def emit(member: bytes, produced: Iterable[Output]) -> None:
        for output in produced:
            outputs[member].append(output)
            if isinstance(output, Send):
                sends[member] += 1
                if member in dies_after and sends[member] > dies_after[member]:
                    alive.discard(member)
                    continue
                queue.append((member, output))

    for member, run in runs.items():
        emit(member, run.start())
    for height in range(START, START + blocks):
        for member in sorted(alive):
            emit(member, runs[member].step(height))
        while queue:
            sender, send = queue.pop(0)
            for member in sorted(alive - {sender}):
                if runs[member].receive(send.kind, sender, send.body):
                    emit(member, runs[member].step(height))
        if all(runs[m].finished for m in alive):
            break
    return outputs


def _runs(ceremony: Ceremony, members: list[SigningKey], **extra) -> dict[bytes, CeremonyRun]:  # type: ignore[no-untyped-def]
    runs = {}
    for index, key in enumerate(members):
        context = RunContext(
            CHAIN,
            ceremony,
            0,
            START,
            key,
            _rng(index),
            extra["group"].as_key_set() if extra.get("group") else extra.get("holders"),
        )
        runs[key.public_key] = new_run(context, extra.get("keys", {}).get(key.public_key))
    return runs


def _results(outputs: dict[bytes, list[Output]]) -> dict[bytes, bytes]:
    return {
        member: o.result
        for member, produced in outputs.items()
        for o in produced
        if isinstance(o, SubmitResult)
    }


def _before(produced: list[Output], first: type, then_kind: int) -> bool:
    """The first ``first`` output comes before the Send of ``then_kind``."""
    kinds = [type(o) if not isinstance(o, Send) else o.kind for o in produced]
    return kinds.index(first) < kinds.index(then_kind)


def run_dkg(
    members: list[SigningKey], threshold: int, dies_after: dict[bytes, int] | None = None
) -> tuple[Group, dict[bytes, tuple[KeyPackage, ...]], dict[bytes, list[Output]]]:
    ceremony = _ceremony(KIND_DKG, members, threshold)
    outputs = drive(_runs(ceremony, members), dies_after)
    results = _results(outputs)
    assert len(set(results.values())) == 1, "every reporter reports the same result"
    _, (public,) = decode_keygen_result(next(iter(results.values())))
    keys = {
        member: o.keys
        for member, produced in outputs.items()
        for o in produced
        if isinstance(o, SaveKey)
    }
    group = Group(
        encode_element(public.group_public_key),
        public.threshold,
        tuple(
            (i, ceremony.participants[i - 1], encode_element(public.verification_share(i)))
            for i in public.members
        ),
        1,
        ceremony.ceremony_id,
    )
    return group, keys, outputs


def test_a_dkg_among_four_agrees_and_saves_keys_before_confirming() -> None:
    group, keys, outputs = run_dkg(KEYS[:4], 3)
    assert len(_results(outputs)) == 4 and len(group.members) == 4
    for produced in outputs.values():
        assert _before(produced, SaveKey, 5)  # the key is on disk before the confirmation
        assert isinstance(produced[-1], Finished)
    assert {k[0].public.group_public_key for k in keys.values()} == {
        keys[KEYS[0].public_key][0].group_public_key
    }


def test_a_dkg_completes_without_a_member_that_died_after_round_one() -> None:
    dead = KEYS[2].public_key
    group, _, outputs = run_dkg(KEYS[:4], 3, dies_after={dead: 1})
    assert dead not in _results(outputs) and len(_results(outputs)) == 3
    assert dead not in group.member_keys() and len(group.members) == 3
    # It took the deadlines, not more than the five phases of one attempt.
    assert group.threshold == 3


def test_a_dkg_with_two_of_four_dead_fails_without_a_result() -> None:
    ceremony = _ceremony(KIND_DKG, KEYS[:4], 3)
    outputs = drive(_runs(ceremony, KEYS[:4]), {KEYS[0].public_key: 0, KEYS[1].public_key: 1})
    assert _results(outputs) == {}
    reasons = [o.reason for p in outputs.values() for o in p if isinstance(o, Finished)]
    assert reasons and all(r.startswith("failed") for r in reasons)


def _sign(group: Group, keys: dict[bytes, tuple[KeyPackage, ...]], message: bytes, dies_after=None):  # type: ignore[no-untyped-def]
    members = [k for k in KEYS if k.public_key in keys]
    ceremony = _ceremony(KIND_SIGN, members, group.threshold, message)
    return drive(_runs(ceremony, members, group=group, keys=keys), dies_after)


def test_signing_saves_nonces_first_spends_them_before_the_share_and_verifies() -> None:
    group, keys, _ = run_dkg(KEYS[:4], 3)
    outputs = _sign(group, keys, b"a message to sign")
    results = _results(outputs)
    assert len(results) == 1, "only the lowest-identifier signer submits"
    (signature,) = results.values()
    assert frost.verify_signature(group.public_key, b"a message to sign", signature)
    signers = [
        m for m, p in outputs.items() if any(isinstance(o, Send) and o.kind == 22 for o in p)
    ]
    assert len(signers) == 3
    for member, produced in outputs.items():
        assert _before(produced, SaveNonces, 21)
        assert any(isinstance(o, SpendNonces) for o in produced), "every member erases its nonces"
        if member in signers:
            assert _before(produced, SpendNonces, 22)


def test_signing_goes_on_when_a_member_dies_after_committing_as_long_as_k_remain() -> None:
    group, keys, _ = run_dkg(KEYS[:4], 3)
    first_signer = min(group.members)[1]
    outputs = _sign(group, keys, b"m", dies_after={first_signer: 1})
    assert _results(outputs) == {}  # attempt 0: the chosen signer never signed
    alive = {k: v for k, v in keys.items() if k != first_signer}
    retry = _sign(group, alive, b"m")
    (signature,) = _results(retry).values()
    assert frost.verify_signature(group.public_key, b"m", signature)


def test_a_resharing_to_five_keeps_the_key_and_a_new_member_signs() -> None:
    group, keys, _ = run_dkg(KEYS[:4], 3)
    new_members = KEYS[:5]
    ceremony = _ceremony(KIND_RESHARE, new_members, 4)
    outputs = drive(_runs(ceremony, new_members, group=group, keys=keys))
    results = _results(outputs)
    assert len(results) == 5 and len(set(results.values())) == 1
    _, (public,) = decode_keygen_result(next(iter(results.values())))
    assert encode_element(public.group_public_key) == group.public_key
    new_keys = {m: o.keys for m, p in outputs.items() for o in p if isinstance(o, SaveKey)}
    new_group = Group(
        group.public_key,
        4,
        tuple(
            (i, ceremony.participants[i - 1], encode_element(public.verification_share(i)))
            for i in public.members
        ),
        2,
        8,
    )
    signature = _results(_sign(new_group, new_keys, b"after resharing"))
    assert frost.verify_signature(
        group.public_key, b"after resharing", next(iter(signature.values()))
    )


def test_attempts_are_paced_by_heights_and_sessions_differ() -> None:
    ceremony = _ceremony(KIND_SIGN, KEYS[:4], 3)
    assert attempt_at(ceremony, START) == (0, START)
    assert attempt_at(ceremony, START + 3 * PHASE_BLOCKS) == (1, START + 3 * PHASE_BLOCKS)
    assert session_id(CHAIN, ceremony, 0) != session_id(CHAIN, ceremony, 1)
    group, _, _ = run_dkg(KEYS[:4], 3)
    outsider = KEYS[5].public_key
    assert not takes_part(ceremony, outsider, group.as_key_set(), False)
    holders = group.as_key_set()
    assert takes_part(_ceremony(KIND_RESHARE, KEYS[:5], 4), KEYS[4].public_key, holders, False)
    assert session_id(CHAIN, ceremony, 0, 0) != session_id(CHAIN, ceremony, 0, 1)


def _key_set(ceremony: Ceremony, payload: bytes, epoch: int) -> KeySet:
    _, packages = decode_keygen_result(payload)
    members = packages[0].members
    return KeySet(
        ceremony.key_set,
        tuple(encode_element(p.group_public_key) for p in packages),
        packages[0].threshold,
        tuple(
            (
                i,
                ceremony.participants[i - 1],
                tuple(encode_element(p.verification_share(i)) for p in packages),
            )
            for i in members
        ),
        epoch,
        ceremony.ceremony_id,
    )


def test_a_key_set_of_three_keys_is_made_and_reshared_in_one_ceremony_each() -> None:
    ceremony = _ceremony(KIND_DKG, KEYS[:4], 3, key_set="mint/1", key_count=3)
    outputs = drive(_runs(ceremony, KEYS[:4]))
    results = _results(outputs)
    assert len(results) == 4 and len(set(results.values())) == 1
    key_set = _key_set(ceremony, next(iter(results.values())), 1)
    assert len(set(key_set.public_keys)) == 3  # three independent keys
    keys = {m: o.keys for m, p in outputs.items() for o in p if isinstance(o, SaveKey)}
    for member, shares in keys.items():
        assert len(shares) == 3
        assert [encode_element(k.public.group_public_key) for k in shares] == list(
            key_set.public_keys
        )
        assert _before(outputs[member], SaveKey, 5)
    # Each key's shares interpolate to its own public key.
    for lane in range(3):
        first = sorted(keys.values(), key=lambda s: s[0].identifier)[:3]
        secret = _interpolate({s[lane].identifier: s[lane].secret_share for s in first})
        assert encode_element(base_mul(secret)) == key_set.public_keys[lane]
    # Resharing to five (one new member) keeps every public key.
    reshare = _ceremony(KIND_RESHARE, KEYS[:5], 4, key_set="mint/1", key_count=3)
    outputs = drive(_runs(reshare, KEYS[:5], holders=key_set, keys=keys))
    results = _results(outputs)
    assert len(results) == 5 and len(set(results.values())) == 1
    assert _key_set(reshare, next(iter(results.values())), 2).public_keys == key_set.public_keys


def test_a_key_set_message_of_the_wrong_shape_counts_as_silence() -> None:
    ceremony = _ceremony(KIND_DKG, KEYS[:4], 3, key_set="mail", key_count=2)
    runs = _runs(ceremony, KEYS[:4])
    run = runs[KEYS[0].public_key]
    run.start()
    assert run.receive(1, KEYS[1].public_key, b"\x91\xc4\x00")  # an array of one, not two
    assert isinstance(run, KeySetRun)
    assert all(KEYS[1].public_key not in lane.inbox[1] for lane in run.lanes)


def _interpolate(shares: dict[int, int]) -> int:
    total = 0
    for i, share in shares.items():
        total += share * derive_interpolating_value(tuple(sorted(shares)), i)
    return total % ORDER
