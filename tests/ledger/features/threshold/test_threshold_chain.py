"""The validators' threshold key on chain: the DKG requested at block 1 and
accepted on a quorum of equal reports, signing requests (anyone for a
message, governance for a group-account transaction), resharing when the
validator set changes, expiry, and the refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledger import codec
from ledger.address import address_of
from ledger.client.devnet import account_key, devnet_genesis_document, validator_key
from ledger.crypto import SigningKey, sha256
from ledger.exceptions import AlreadyExists, InvalidOperation, NotAuthorized, UnknownRecord
from ledger.features.bank.bodies import Transfer
from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdResult,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.ceremonies import (
    COMPLETED,
    FAILED,
    KEYGEN_EXPIRY_BLOCKS,
    KIND_DKG,
    KIND_RESHARE,
    KIND_SIGN,
    PENDING,
    Ceremony,
    encode_keygen_result,
    encode_unsigned_transaction,
    message_to_sign,
    threshold_ceremonies,
    threshold_ceremony,
    threshold_group,
)
from ledger.features.validators.bodies import UpdateValidator
from ledger.genesis import parse_genesis
from ledger.threshold import dkg, reshare
from ledger.threshold.ceremony import CeremonyResult
from ledger.threshold.group import base_mul, encode_element
from ledger.threshold.keys import KeyPackage, PublicKeyPackage
from ledger.threshold.transport import encode_public_key_package
from ledger.types import NATIVE_ASSET, Transaction, decode_transaction
from tests.ledger.features.policy.test_governance import govern
from tests.ledger.memory_chain import MemoryChain
from tests.ledger.threshold.inprocess import run_dkg, run_reshare, seeded_rng, sign

VALIDATOR_KEYS = {validator_key(i).public_key: validator_key(i) for i in range(4)}
NEW_VALIDATOR = SigningKey(sha256(b"threshold chain test: a new validator"))


def devnet_chain() -> MemoryChain:
    """The devnet without its mint and mail (whose key sets would be more ceremonies)."""
    document = devnet_genesis_document()
    del document["mint"], document["mail"]
    return MemoryChain(parse_genesis(document))


def _only_pending(chain: MemoryChain) -> Ceremony:
    pending, _ = threshold_ceremonies(chain.reader)
    assert len(pending) == 1
    return pending[0]


def _keygen_results(ceremony: Ceremony, seed: int) -> dict[int, CeremonyResult]:
    session = dkg.DkgSession(
        b"test-dkg-%d" % ceremony.ceremony_id,
        ceremony.threshold,
        tuple(range(1, len(ceremony.participants) + 1)),
    )
    return run_dkg(session, seeded_rng(seed))


def _report(chain: MemoryChain, ceremony: Ceremony, identifier: int, result: bytes) -> Any:
    key = VALIDATOR_KEYS.get(ceremony.participants[identifier - 1], NEW_VALIDATOR)
    return chain.submit(key, ThresholdResult(ceremony.ceremony_id, result))


def _payload(result: CeremonyResult, public: PublicKeyPackage | None = None) -> bytes:
    package = encode_public_key_package(public or result.key_package.public)
    return encode_keygen_result(result.transcript_hash, [package])


def chain_with_group(seed: int = 1) -> tuple[MemoryChain, dict[int, KeyPackage]]:
    """A devnet chain whose validators completed the DKG of block 1."""
    chain = devnet_chain()
    chain.run([])
    ceremony = _only_pending(chain)
    results = _keygen_results(ceremony, seed)
    for identifier in (1, 2, 3):
        assert _report(chain, ceremony, identifier, _payload(results[identifier])).status == 0
    return chain, {i: r.key_package for i, r in results.items()}


def test_a_dkg_is_requested_at_block_1_among_the_next_validators() -> None:
    chain = devnet_chain()
    assert threshold_ceremonies(chain.reader) == ([], [])
    chain.run([])
    ceremony = _only_pending(chain)
    assert ceremony.kind == KIND_DKG and ceremony.status == PENDING
    assert ceremony.threshold == 3 and len(ceremony.participants) == 4
    assert list(ceremony.participants) == sorted(ceremony.participants, key=address_of)
    assert {e.kind for e in chain.block_events} >= {"threshold_ceremony_requested"}
    chain.run([])
    assert len(threshold_ceremonies(chain.reader)[0]) == 1  # not requested twice


def test_a_chain_without_the_threshold_key_requests_nothing() -> None:
    document = devnet_genesis_document()
    del document["threshold_key"], document["mint"], document["mail"]
    chain = MemoryChain(parse_genesis(document))
    chain.run([])
    assert threshold_ceremonies(chain.reader) == ([], [])


def test_the_dkg_completes_on_a_quorum_of_equal_reports() -> None:
    chain = devnet_chain()
    chain.run([])
    ceremony = _only_pending(chain)
    results = _keygen_results(ceremony, 1)
    assert _report(chain, ceremony, 1, _payload(results[1])).status == 0
    assert _report(chain, ceremony, 2, _payload(results[2])).status == 0
    assert threshold_group(chain.reader) is None
    receipt = _report(chain, ceremony, 4, _payload(results[4]))
    assert receipt.status == 0
    group = threshold_group(chain.reader)
    public = results[1].key_package.public
    assert group is not None and group.public_key == encode_element(public.group_public_key)
    assert group.threshold == 3 and group.epoch == 1 and group.ceremony_id == ceremony.ceremony_id
    assert group.member_keys() == ceremony.participants
    assert group.address == address_of(group.public_key)
    done = threshold_ceremony(chain.reader, ceremony.ceremony_id)
    assert done is not None and done.status == COMPLETED and len(done.reports) == 3
    late = _report(chain, ceremony, 3, _payload(results[3]))
    assert late.status == UnknownRecord.status


def test_invalid_keygen_reports_are_refused() -> None:
    chain = devnet_chain()
    chain.run([])
    ceremony = _only_pending(chain)
    results = _keygen_results(ceremony, 2)
    good = _payload(results[1])
    outsider = chain.submit(account_key("alice"), ThresholdResult(ceremony.ceremony_id, good))
    assert outsider.status == NotAuthorized.status
    public = results[1].key_package.public
    wrong_threshold = PublicKeyPackage(public.group_public_key, 2, public.verification_shares)
    assert (
        _report(chain, ceremony, 1, _payload(results[1], wrong_threshold)).status
        == InvalidOperation.status
    )
    shares = dict(public.verification_shares)
    shares[2] = base_mul(12345)
    forged = PublicKeyPackage(public.group_public_key, 3, shares)
    assert _report(chain, ceremony, 1, _payload(results[1], forged)).status == (
        InvalidOperation.status
    )
    assert _report(chain, ceremony, 1, b"\x01garbage").status == InvalidOperation.status
    assert _report(chain, ceremony, 1, good).status == 0
    assert _report(chain, ceremony, 1, good).status == AlreadyExists.status
    # Two reports for another transcript do not add up with one for this one.
    other = _keygen_results(ceremony, 3)
    assert _report(chain, ceremony, 2, _payload(other[2])).status == 0
    assert _report(chain, ceremony, 3, _payload(other[3])).status == 0
    assert threshold_group(chain.reader) is None


def test_anyone_may_request_a_domain_separated_message_signature() -> None:
    chain, keys = chain_with_group()
    alice = account_key("alice")
    assert chain.submit(alice, ThresholdSignMessage(b"hello validators")).status == 0
    ceremony = _only_pending(chain)
    assert ceremony.kind == KIND_SIGN
    expected = message_to_sign(
        chain.genesis.chain_id, address_of(alice.public_key), b"hello validators"
    )
    assert ceremony.message == expected
    bad = sign([keys[1], keys[2], keys[3]], b"something else", seeded_rng(5))
    assert _report(chain, ceremony, 1, bad).status == InvalidOperation.status
    signature = sign([keys[2], keys[3], keys[4]], ceremony.message, seeded_rng(6))
    assert _report(chain, ceremony, 2, signature).status == 0
    done = threshold_ceremony(chain.reader, ceremony.ceremony_id)
    assert done is not None and done.status == COMPLETED and done.result == signature


def test_governance_spends_from_the_group_account_with_k_validators() -> None:
    chain, keys = chain_with_group()
    group = threshold_group(chain.reader)
    assert group is not None
    funding = Transfer(NATIVE_ASSET, 50_000, group.address)
    assert chain.submit(account_key("alice"), funding).status == 0
    bob = address_of(account_key("bob").public_key)
    spend = Transaction(
        chain.genesis.chain_id, group.public_key, 0, 1000, Transfer(NATIVE_ASSET, 7_000, bob)
    )
    request = ThresholdSignTransaction(encode_unsigned_transaction(spend))
    # Not as a transaction of its own, and not by a policy other than governance.
    direct = chain.sign(account_key("alice"), request)
    assert chain.run([direct]).receipts == ()
    result = govern(chain, request)
    assert result.receipts[-1].status == 0, result.receipts[-1].error
    ceremony = _only_pending(chain)
    assert ceremony.message == spend.signing_digest()
    signature = sign([keys[1], keys[3], keys[4]], ceremony.message, seeded_rng(7))
    assert _report(chain, ceremony, 3, signature).status == 0
    signed = decode_transaction(replace(spend, signature=signature, _cache={}).encode())
    before = chain.balance(bob)
    assert chain.run([signed]).receipts[0].status == 0
    assert chain.balance(bob) == before + 7_000
    assert chain.balance(group.address) == 50_000 - 7_000 - 1000


def test_a_transaction_to_sign_must_be_from_the_group_on_this_chain() -> None:
    chain, _ = chain_with_group()
    alice = account_key("alice")
    other = Transaction(
        chain.genesis.chain_id, alice.public_key, 0, 1000, Transfer("coin", 1, b"\x01" * 20)
    )
    result = govern(chain, ThresholdSignTransaction(encode_unsigned_transaction(other)))
    assert result.receipts[-1].status == InvalidOperation.status
    garbage = govern(chain, ThresholdSignTransaction(codec.encode((1, 2, 3))))
    assert garbage.receipts[-1].status == InvalidOperation.status


def test_a_validator_change_schedules_a_resharing_that_keeps_the_key() -> None:
    chain, keys = chain_with_group()
    group = threshold_group(chain.reader)
    assert group is not None
    fee_money = Transfer(NATIVE_ASSET, 10**6, address_of(NEW_VALIDATOR.public_key))
    assert chain.submit(account_key("alice"), fee_money).status == 0
    govern(chain, UpdateValidator(NEW_VALIDATOR.public_key, 10, "val-new"))
    chain.run([])
    ceremony = _only_pending(chain)
    assert ceremony.kind == KIND_RESHARE and ceremony.epoch == 1
    assert len(ceremony.participants) == 5 and ceremony.threshold == 4
    assert NEW_VALIDATOR.public_key in ceremony.participants
    session = reshare.ReshareSession(
        b"test-reshare", keys[1].public, ceremony.threshold, tuple(range(1, 6))
    )
    results = run_reshare(session, [keys[1], keys[2], keys[4]], seeded_rng(9))
    for identifier in (5, 1, 2, 3):
        assert _report(chain, ceremony, identifier, _payload(results[identifier])).status == 0
    after = threshold_group(chain.reader)
    assert after is not None and after.public_key == group.public_key
    assert (
        after.epoch == 2
        and after.threshold == 4
        and set(after.member_keys()) == set(ceremony.participants)
    )
    chain.run([])
    assert threshold_ceremonies(chain.reader)[0] == []  # members match: nothing more


def test_a_resharing_report_must_keep_the_group_key() -> None:
    chain, _ = chain_with_group()
    result = govern(chain, ThresholdReshare(0))
    assert result.receipts[-1].status == 0
    ceremony = _only_pending(chain)
    assert ceremony.kind == KIND_RESHARE and ceremony.threshold == 3
    fresh = _keygen_results(replace(ceremony, threshold=3), 11)
    assert _report(chain, ceremony, 1, _payload(fresh[1])).status == InvalidOperation.status
    again = govern(chain, ThresholdReshare(0))
    assert again.receipts[-1].status == AlreadyExists.status


def test_unfinished_ceremonies_fail_at_expiry_and_a_dkg_is_requested_again() -> None:
    chain = devnet_chain()
    chain.run([])
    first = _only_pending(chain)
    chain.skip_to(first.expires_at)
    failed = threshold_ceremony(chain.reader, first.ceremony_id)
    assert failed is not None and failed.status == FAILED
    retry = _only_pending(chain)
    assert retry.kind == KIND_DKG and retry.ceremony_id == first.ceremony_id + 1
    assert retry.expires_at == first.expires_at + KEYGEN_EXPIRY_BLOCKS
