"""One node's part in one attempt of a threshold ceremony, as pure state
machines: messages and committed heights in, outputs out.

A ceremony requested on chain (ledger.features.threshold.ceremonies) runs in *attempts*.
Attempt ``a`` starts at height ``requested_at + 1 + a * attempt_blocks`` and
its phases are paced by committed heights: phase ``p`` ends at the latest at
``start + (p + 1) * PHASE_BLOCKS``, and as soon as every expected sender's
message for it has arrived. Every node sees the same heights, so the nodes
cut each phase alike; a member that dies is simply missing at the deadline:

- **DKG** (5 phases): round-1 packages; encrypted shares; complaints;
  justifications; confirmations. A dealer that sent a package but no share
  draws complaints it cannot answer and is disqualified, so the others
  finish without it; the agreement check needs ``threshold`` confirmations.
- **Resharing** (4 phases): old members deal (package and encrypted
  shares); new members complain; accused dealers justify; new members
  confirm.
- **Signing** (2 phases): members commit (nonces saved first); the signers
  are the first ``threshold`` committers by identifier; each signer spends
  its nonces (erased first) and sends its share; the lowest-identifier
  signer aggregates and submits.

If an attempt fails (a view differed, a member died at the wrong moment)
the next attempt starts with a fresh session id, fresh randomness and fresh
nonces, until the chain's expiry height. Outputs are carried out in order
by consensus.node.threshold.service, which persists before it sends.

Over 600 lines for a reason: the DKG, resharing and signing state machines
share the attempt, phase and session logic above them; apart, that shared
logic would have to be threaded through three modules.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Final

from ledger import codec, crypto
from ledger.crypto import SigningKey
from ledger.features.threshold.ceremonies import (
    KIND_DKG,
    KIND_RESHARE,
    KIND_SIGN,
    PHASE_BLOCKS,
    Ceremony,
    encode_keygen_result,
)
from ledger.features.threshold.key_sets import KeySet
from ledger.threshold import ceremony as ceremony_lib
from ledger.threshold import dkg, frost, reshare
from ledger.threshold.ceremony import CeremonyResult, Complaint, Justification, SecretShare
from ledger.threshold.errors import ThresholdError
from ledger.threshold.frost import SigningCommitment, SigningNonces
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage
from ledger.threshold.transport import (
    decode_commitment_list,
    decode_complaint,
    decode_confirmation,
    decode_encrypted_share,
    decode_justification,
    decode_reshare_package,
    decode_round1_package,
    decrypt_share,
    encode_commitment_list,
    encode_complaint,
    encode_confirmation,
    encode_encrypted_share,
    encode_justification,
    encode_public_key_package,
    encode_reshare_package,
    encode_round1_package,
    encrypt_share,
)

log = logging.getLogger("consensus.threshold_runs")  # the name its log lines have always carried

SESSION_DOMAIN: Final = "ledger/threshold/session/v1"

# Message kinds on the threshold channel.
DKG_PACKAGE: Final = 1
DKG_SHARES: Final = 2
COMPLAINTS: Final = 3
JUSTIFICATIONS: Final = 4
CONFIRMATION: Final = 5
RESHARE_DEAL: Final = 11
SIGN_COMMITMENT: Final = 21
SIGN_SHARE: Final = 22
MESSAGE_KINDS: Final = frozenset(
    {
        DKG_PACKAGE,
        DKG_SHARES,
        COMPLAINTS,
        JUSTIFICATIONS,
        CONFIRMATION,
        RESHARE_DEAL,
        SIGN_COMMITMENT,
        SIGN_SHARE,
    }
)
PHASES: Final = {KIND_DKG: 5, KIND_RESHARE: 4, KIND_SIGN: 2}


def attempt_blocks(kind: int) -> int:
    """Blocks per attempt: its phases plus one for the result to be included."""
    return (PHASES[kind] + 1) * PHASE_BLOCKS


def attempt_at(ceremony: Ceremony, height: int) -> tuple[int, int]:
    """(attempt number, its start height) in force at ``height``."""
    first = ceremony.requested_at + 1
    attempt = max(0, height - first) // attempt_blocks(ceremony.kind)
    return attempt, first + attempt * attempt_blocks(ceremony.kind)


def session_id(chain_id: str, ceremony: Ceremony, attempt: int, lane: int = 0) -> bytes:
    """A fresh session id per ceremony attempt and key (lane): every proof,
    transcript and encrypted share is bound to it."""
    return crypto.sha256(
        codec.encode(
            (SESSION_DOMAIN, chain_id, ceremony.ceremony_id, ceremony.kind, attempt, lane)
        )
    )


# -- outputs -------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Broadcast a message of this kind (the service signs and resends it)."""

    kind: int
    body: bytes


@dataclass(frozen=True)
class SaveKey:
    """Persist these new key shares (encrypted; one per key of the ceremony)
    before anything after them is sent."""

    transcript_hash: bytes
    keys: tuple[KeyPackage, ...]


@dataclass(frozen=True)
class LaneKey:
    """One lane's new key share (combined into SaveKey by KeySetRun)."""

    transcript_hash: bytes
    key: KeyPackage


@dataclass(frozen=True)
class LaneAgreed:
    """One lane's agreed public result (combined into SubmitResult by KeySetRun)."""

    transcript_hash: bytes
    public: bytes


@dataclass(frozen=True)
class SaveNonces:
    """Persist these signing nonces (encrypted) before the commitment is sent."""

    nonces: SigningNonces


@dataclass(frozen=True)
class SpendNonces:
    """Erase this attempt's nonces (durably) before the share is sent."""


@dataclass(frozen=True)
class SubmitResult:
    """Submit a ``threshold_result`` transaction with this payload."""

    result: bytes


@dataclass(frozen=True)
class Finished:
    """This node's part in the attempt is over; ``reason`` says how."""

    reason: str


Output = (
    Send | SaveKey | SaveNonces | SpendNonces | SubmitResult | Finished | LaneKey | LaneAgreed
)


# -- the common machinery -------------------------------------------------------


@dataclass
class RunContext:
    """What a run knows: the chain's record of the ceremony, the current
    holders of its keys (for resharing and signing), this node's validator
    key and, in a lane, its share of that lane's key (``lane``: which key of
    the set), and the injected random source."""

    chain_id: str
    ceremony: Ceremony
    attempt: int
    start_height: int
    me: SigningKey
    rng: RandomBytes
    holders: KeySet | None = None
    key: KeyPackage | None = None
    lane: int = 0


class CeremonyRun(ABC):
    """The phase loop shared by every ceremony: collect the messages of the
    current phase, advance when all expected senders have sent or the phase's
    deadline height is reached."""

    PHASE_KINDS: tuple[int, ...] = ()

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.session = session_id(
            context.chain_id, context.ceremony, context.attempt, context.lane
        )
        self.phase = 0
        self.inbox: dict[int, dict[bytes, bytes]] = {kind: {} for kind in self.PHASE_KINDS}
        self.sent: dict[int, bytes] = {}
        self.finished: str | None = None

    @property
    def me(self) -> bytes:
        return self.context.me.public_key

    def deadline(self, phase: int) -> int:
        return self.context.start_height + (phase + 1) * PHASE_BLOCKS

    @abstractmethod
    def senders(self, kind: int) -> frozenset[bytes]:
        """Who may send messages of ``kind`` in this ceremony."""

    @abstractmethod
    def expected(self, phase: int) -> frozenset[bytes]:
        """Whose messages phase ``phase`` waits for."""

    @abstractmethod
    def start(self) -> list[Output]:
        """The outputs of entering the first phase."""

    @abstractmethod
    def advance(self, phase: int) -> list[Output]:
        """Leave ``phase`` with whatever arrived; the outputs of doing so."""

    def receive(self, kind: int, sender: bytes, body: bytes) -> bool:
        """Keep the first message of ``kind`` from ``sender`` (later ones, even
        different, are ignored: honest members never send two). False if the
        message is not expected here."""
        if kind not in self.inbox or sender not in self.senders(kind):
            return False
        self.inbox[kind].setdefault(sender, body)
        return True

    def send(self, kind: int, body: bytes) -> Send:
        self.sent[kind] = body
        self.inbox[kind].setdefault(self.me, body)
        return Send(kind, body)

    def finish(self, reason: str) -> list[Output]:
        self.finished = reason
        return [Finished(reason)]

    def step(self, height: int) -> list[Output]:
        """Advance through every phase that is complete or past its deadline."""
        outputs: list[Output] = []
        while self.finished is None and self.phase < len(self.PHASE_KINDS):
            kind = self.PHASE_KINDS[self.phase]
            arrived = set(self.inbox[kind])
            if not (self.expected(self.phase) <= arrived or height >= self.deadline(self.phase)):
                break
            phase = self.phase
            self.phase += 1
            try:
                outputs += self.advance(phase)
            except ThresholdError as exc:
                outputs += self.finish(f"failed in phase {phase}: {type(exc).__name__}: {exc}")
        if self.finished is None and self.phase >= len(self.PHASE_KINDS):
            outputs += self.finish("done")
        return outputs

    def bodies(self, kind: int) -> list[tuple[bytes, bytes]]:
        """(sender, body) of every kept message of ``kind``, by sender."""
        return sorted(self.inbox[kind].items())

    def published_complaints(self, ids: dict[bytes, int]) -> list[Complaint]:
        """The complaints broadcast in this run, each kept only if its accuser
        is the member that sent it (``ids``: validator key -> identifier)."""
        found = []
        for sender, body in self.bodies(COMPLAINTS):
            for item in _items(body):
                try:
                    complaint = decode_complaint(item)
                except ThresholdError:
                    continue
                if complaint.accuser == ids[sender]:
                    found.append(complaint)
        return found


def _items(body: bytes) -> tuple[bytes, ...]:
    """A message body that is an array of byte strings; () if malformed."""
    try:
        value = codec.decode(body)
    except codec.CodecError:
        return ()
    if not isinstance(value, tuple) or not all(isinstance(v, bytes) for v in value):
        return ()
    return value


# -- DKG ------------------------------------------------------------------------


class DkgRun(CeremonyRun):
    """A participant's part in a DKG attempt (PedPop with complaints)."""

    PHASE_KINDS = (DKG_PACKAGE, DKG_SHARES, COMPLAINTS, JUSTIFICATIONS, CONFIRMATION)

    def __init__(self, context: RunContext) -> None:
        super().__init__(context)
        ceremony = context.ceremony
        self.participants = ceremony.participants
        self.ids = {key: index + 1 for index, key in enumerate(self.participants)}
        self.keys = {index: key for key, index in self.ids.items()}
        self.dkg_session = dkg.DkgSession(
            self.session, ceremony.threshold, tuple(range(1, len(self.participants) + 1))
        )
        self.secret: dkg.DkgRound1Secret | None = None
        self.round2: dkg.DkgRound2State | None = None
        self.round3: dkg.DkgRound3State | None = None
        self.complaints: list[Complaint] = []
        self.result: CeremonyResult | None = None

    def senders(self, kind: int) -> frozenset[bytes]:
        return frozenset(self.participants)

    def _accepted_keys(self) -> frozenset[bytes]:
        assert self.round2 is not None
        return frozenset(self.keys[i] for i in self.round2.commitments)

    def expected(self, phase: int) -> frozenset[bytes]:
        if phase == 0:
            return frozenset(self.participants)
        if phase in (1, 2, 3):
            return self._accepted_keys()
        assert self.result is not None
        return frozenset(self.keys[i] for i in self.result.key_package.public.members)

    def start(self) -> list[Output]:
        me = self.ids[self.me]
        self.secret, package = dkg.dkg_round1(self.dkg_session, me, self.context.rng)
        return [self.send(DKG_PACKAGE, encode_round1_package(package))]

    def advance(self, phase: int) -> list[Output]:
        return [self._round2, self._round3, self._justify, self._finalize, self._agree][phase]()

    def _round2(self) -> list[Output]:
        packages = []
        for sender, body in self.bodies(DKG_PACKAGE):
            try:
                package = decode_round1_package(body)
            except ThresholdError:
                continue  # malformed: the sender is treated as silent
            if package.sender == self.ids[sender]:
                packages.append(package)
        assert self.secret is not None
        self.round2, shares = dkg.dkg_round2(self.secret, packages)
        sealed = tuple(self._seal(share) for share in shares)
        return [self.send(DKG_SHARES, codec.encode(sealed))]

    def _seal(self, share: SecretShare) -> bytes:
        me = self.context.me
        return encode_encrypted_share(
            encrypt_share(
                share,
                self.dkg_session.context(),
                me.secret,
                me.public_key,
                self.keys[share.receiver],
                self.context.rng(12),
            )
        )

    def _open_mine(self, kind: int, dealer_ids: dict[bytes, int]) -> list[SecretShare]:
        """Decrypt the shares addressed to this member; bad ones count as missing."""
        me = self.ids[self.me]
        context = self.dkg_session.context()
        mine = []
        for sender, body in self.bodies(kind):
            for item in _items(body):
                try:
                    sealed = decode_encrypted_share(item)
                    if sealed.receiver != me or sealed.dealer != dealer_ids.get(sender):
                        continue
                    mine.append(
                        decrypt_share(sealed, context, self.context.me.secret, self.me, sender)
                    )
                except ThresholdError:
                    continue
        return mine

    def _round3(self) -> list[Output]:
        assert self.round2 is not None
        shares = self._open_mine(DKG_SHARES, self.ids)
        self.round3, complaints = dkg.dkg_round3(self.round2, shares)
        body = codec.encode(tuple(encode_complaint(c) for c in complaints))
        return [self.send(COMPLAINTS, body)]

    def _justify(self) -> list[Output]:
        assert self.round3 is not None
        self.complaints = self.published_complaints(self.ids)
        answers = dkg.dkg_justify(self.round3, self.complaints)
        body = codec.encode(tuple(encode_justification(j) for j in answers))
        return [self.send(JUSTIFICATIONS, body)]

    def _public_justifications(self, dealer_ids: dict[bytes, int]) -> list[Justification]:
        found = []
        for sender, body in self.bodies(JUSTIFICATIONS):
            for item in _items(body):
                try:
                    justification = decode_justification(item)
                except ThresholdError:
                    continue
                if justification.dealer == dealer_ids.get(sender):
                    found.append(justification)
        return found

    def _finalize(self) -> list[Output]:
        assert self.round3 is not None
        justifications = self._public_justifications(self.ids)
        self.result = dkg.dkg_finalize(self.round3, self.complaints, justifications)
        confirmation = ceremony_lib.confirm(self.result, self.context.rng)
        return [
            LaneKey(self.result.transcript_hash, self.result.key_package),
            self.send(CONFIRMATION, encode_confirmation(confirmation)),
        ]

    def _agree(self) -> list[Output]:
        assert self.result is not None
        return _agreement(self, self.result, self.context.ceremony.threshold)


def _agreement(run: CeremonyRun, result: CeremonyResult, quorum: int) -> list[Output]:
    """Check the confirmations received; the result to report if they agree."""
    public = result.key_package.public
    members = public.members
    confirmations = []
    for _sender, body in run.bodies(CONFIRMATION):
        try:
            confirmation = decode_confirmation(body)
        except ThresholdError:
            continue
        if confirmation.sender in members:
            confirmations.append(confirmation)
    ceremony_lib.check_agreement(result, confirmations, quorum=min(quorum, len(members)))
    agreed = LaneAgreed(result.transcript_hash, encode_public_key_package(public))
    return [agreed, *run.finish("agreed")]


# -- resharing ------------------------------------------------------------------


class ReshareRun(CeremonyRun):
    """An old member's (dealer) and/or new member's (receiver) part in a
    resharing attempt."""

    PHASE_KINDS = (RESHARE_DEAL, COMPLAINTS, JUSTIFICATIONS, CONFIRMATION)

    def __init__(self, context: RunContext) -> None:
        super().__init__(context)
        holders = context.holders
        assert holders is not None
        ceremony = context.ceremony
        self.new_members = ceremony.participants
        self.new_ids = {key: index + 1 for index, key in enumerate(self.new_members)}
        self.old_ids = {key: identifier for identifier, key, _ in holders.members}
        self.reshare_session = reshare.ReshareSession(
            self.session,
            holders.public_package(context.lane),
            ceremony.threshold,
            tuple(range(1, len(self.new_members) + 1)),
        )
        key = context.key
        self.dealing = key is not None and self.me in self.old_ids
        self.receiving = self.me in self.new_ids
        self.dealer_secret: reshare.ReshareDealerSecret | None = None
        self.state: reshare.ReshareReceiverState | None = None
        self.complaints: list[Complaint] = []
        self.result: CeremonyResult | None = None

    def senders(self, kind: int) -> frozenset[bytes]:
        if kind in (RESHARE_DEAL, JUSTIFICATIONS):
            return frozenset(self.old_ids)
        return frozenset(self.new_members)

    def expected(self, phase: int) -> frozenset[bytes]:
        if phase == 0:
            return frozenset(self.old_ids)
        if phase == 2:
            return frozenset(self.inbox[RESHARE_DEAL])
        return frozenset(self.new_members)

    def start(self) -> list[Output]:
        if not self.dealing:
            return []
        assert self.context.key is not None
        self.dealer_secret, package, shares = reshare.reshare_deal(
            self.reshare_session, self.context.key, self.context.rng
        )
        context = self.reshare_session.context()
        me = self.context.me
        sealed = tuple(
            encode_encrypted_share(
                encrypt_share(
                    share,
                    context,
                    me.secret,
                    me.public_key,
                    self.new_members[share.receiver - 1],
                    self.context.rng(12),
                )
            )
            for share in shares
        )
        body = codec.encode((encode_reshare_package(package), sealed))
        return [self.send(RESHARE_DEAL, body)]

    def advance(self, phase: int) -> list[Output]:
        return [self._receive, self._justify, self._finalize, self._agree][phase]()

    def _dealings(self) -> tuple[list[reshare.ResharePackage], list[SecretShare]]:
        packages, shares = [], []
        me = self.new_ids.get(self.me)
        context = self.reshare_session.context()
        for sender, body in self.bodies(RESHARE_DEAL):
            try:
                value = codec.decode(body)
                if not (isinstance(value, tuple) and len(value) == 2):
                    continue
                package = decode_reshare_package(value[0])
            except (codec.CodecError, ThresholdError):
                continue
            if package.sender != self.old_ids[sender]:
                continue
            packages.append(package)
            if me is None or not isinstance(value[1], tuple):
                continue
            for item in value[1]:
                try:
                    sealed = decode_encrypted_share(item)
                    if sealed.receiver == me and sealed.dealer == package.sender:
                        shares.append(
                            decrypt_share(sealed, context, self.context.me.secret, self.me, sender)
                        )
                except ThresholdError:
                    continue
        return packages, shares

    def _receive(self) -> list[Output]:
        if not self.receiving:
            return []
        packages, shares = self._dealings()
        me = self.new_ids[self.me]
        self.state, complaints = reshare.reshare_receive(self.reshare_session, me, packages, shares)
        body = codec.encode(tuple(encode_complaint(c) for c in complaints))
        return [self.send(COMPLAINTS, body)]

    def _justify(self) -> list[Output]:
        self.complaints = self.published_complaints(self.new_ids)
        if self.dealer_secret is None:
            return []
        answers = reshare.reshare_justify(self.dealer_secret, self.complaints)
        return [
            self.send(JUSTIFICATIONS, codec.encode(tuple(encode_justification(j) for j in answers)))
        ]

    def _finalize(self) -> list[Output]:
        self.dealer_secret = None  # the dealing polynomial is no longer needed
        if self.state is None:
            return self.finish("dealt")
        justifications = []
        for sender, body in self.bodies(JUSTIFICATIONS):
            for item in _items(body):
                try:
                    justification = decode_justification(item)
                except ThresholdError:
                    continue
                if justification.dealer == self.old_ids[sender]:
                    justifications.append(justification)
        self.result = reshare.reshare_finalize(self.state, self.complaints, justifications)
        confirmation = ceremony_lib.confirm(self.result, self.context.rng)
        return [
            LaneKey(self.result.transcript_hash, self.result.key_package),
            self.send(CONFIRMATION, encode_confirmation(confirmation)),
        ]

    def _agree(self) -> list[Output]:
        assert self.result is not None
        return _agreement(self, self.result, self.context.ceremony.threshold)


# -- signing --------------------------------------------------------------------


class SignRun(CeremonyRun):
    """A group member's part in a signing attempt."""

    PHASE_KINDS = (SIGN_COMMITMENT, SIGN_SHARE)

    def __init__(self, context: RunContext) -> None:
        super().__init__(context)
        holders = context.holders
        assert holders is not None and context.key is not None
        self.holders = holders
        self.key = context.key
        self.ids = {key: identifier for identifier, key, _ in holders.members}
        self.message = context.ceremony.message
        self.nonces: SigningNonces | None = None
        self.commitments: tuple[SigningCommitment, ...] = ()
        self.signers: frozenset[bytes] = frozenset()

    def senders(self, kind: int) -> frozenset[bytes]:
        return frozenset(self.ids)

    def expected(self, phase: int) -> frozenset[bytes]:
        return frozenset(self.ids) if phase == 0 else self.signers

    def start(self) -> list[Output]:
        self.nonces, commitment = frost.commit(self.key, self.context.rng)
        return [
            SaveNonces(self.nonces),
            self.send(SIGN_COMMITMENT, frost.encode_signing_commitment(commitment)),
        ]

    def advance(self, phase: int) -> list[Output]:
        return self._sign() if phase == 0 else self._aggregate()

    def _sign(self) -> list[Output]:
        received = []
        for sender, body in self.bodies(SIGN_COMMITMENT):
            try:
                commitment = frost.decode_signing_commitment(body)
            except ThresholdError:
                continue
            if commitment.identifier == self.ids[sender]:
                received.append(commitment)
        received.sort(key=lambda c: c.identifier)
        threshold = self.holders.threshold
        if len(received) < threshold:
            self.nonces = None
            reason = f"only {len(received)} commitments, threshold {threshold}"
            return [SpendNonces(), *self.finish(reason)]
        self.commitments = tuple(received[:threshold])
        chosen = {c.identifier for c in self.commitments}
        self.signers = frozenset(k for k, i in self.ids.items() if i in chosen)
        if self.me not in self.signers or self.nonces is None:
            self.nonces = None
            return [SpendNonces()]  # not chosen: the nonces are erased unused
        nonces, self.nonces = self.nonces, None
        share = frost.sign(self.key, nonces, self.message, self.commitments)
        body = codec.encode(
            (encode_commitment_list(self.commitments), frost.encode_signature_share(share))
        )
        return [SpendNonces(), self.send(SIGN_SHARE, body)]

    def _aggregate(self) -> list[Output]:
        self.nonces = None  # never sign with them after this phase
        if not self.commitments or self.me not in self.signers:
            return self.finish("not a signer")
        listed = encode_commitment_list(self.commitments)
        if min(c.identifier for c in self.commitments) != self.ids[self.me]:
            return self.finish("signed; another signer aggregates")
        shares = []
        for sender, body in self.bodies(SIGN_SHARE):
            value = _share_message(body)
            if value is None or value[0] != listed or sender not in self.signers:
                continue
            if value[1].identifier == self.ids[sender]:
                shares.append(value[1])
        if len(shares) < len(self.commitments):
            return self.finish(f"only {len(shares)} of {len(self.commitments)} signature shares")
        signature = frost.aggregate(self.commitments, self.message, self.key.public, shares)
        return [SubmitResult(frost.encode_signature(signature)), *self.finish("signed")]


def _share_message(body: bytes) -> tuple[bytes, frost.SignatureShare] | None:
    try:
        value = codec.decode(body)
        if not (isinstance(value, tuple) and len(value) == 2):
            return None
        listed, share = value
        decode_commitment_list(listed)
        return listed, frost.decode_signature_share(share)
    except (codec.CodecError, ThresholdError, TypeError):
        return None


# -- every key of a ceremony at once -----------------------------------------


class KeySetRun(CeremonyRun):
    """A DKG or resharing of every key of a ceremony at once (the group's one
    key, or a key set's): one lane per key, each a DkgRun or ReshareRun with
    a session id of its own, advanced in lock step by this run. A message of
    this run is the array of its lanes' bodies (a malformed array counts as
    silence in every lane); the lanes' key shares are saved together and
    their results reported together, under one transcript hash."""

    def __init__(self, context: RunContext, lanes: list[CeremonyRun]) -> None:
        assert lanes and all(type(lane) is type(lanes[0]) for lane in lanes)
        self.lanes = lanes
        self.PHASE_KINDS = lanes[0].PHASE_KINDS
        super().__init__(context)

    def senders(self, kind: int) -> frozenset[bytes]:
        return self.lanes[0].senders(kind)

    def expected(self, phase: int) -> frozenset[bytes]:
        return frozenset().union(*(lane.expected(phase) for lane in self.lanes))

    def receive(self, kind: int, sender: bytes, body: bytes) -> bool:
        if kind not in self.inbox or sender not in self.senders(kind):
            return False
        if sender in self.inbox[kind]:
            return True
        self.inbox[kind][sender] = body
        parts = _lane_bodies(body, len(self.lanes))
        for lane, part in zip(self.lanes, parts or (), strict=False):
            lane.receive(kind, sender, part)
        return True

    def start(self) -> list[Output]:
        return self._combine([lane.start() for lane in self.lanes])

    def advance(self, phase: int) -> list[Output]:
        per_lane = []
        for lane in self.lanes:
            lane.phase = phase + 1
            per_lane.append(lane.advance(phase))
        return self._combine(per_lane)

    def _combine(self, per_lane: list[list[Output]]) -> list[Output]:
        count = len(self.lanes)
        sends: dict[int, list[bytes]] = {}
        keys: list[LaneKey] = []
        agreed: list[LaneAgreed] = []
        reasons: list[str] = []
        for index, outputs in enumerate(per_lane):
            for output in outputs:
                if isinstance(output, Send):
                    sends.setdefault(output.kind, [b""] * count)[index] = output.body
                elif isinstance(output, LaneKey):
                    keys.append(output)
                elif isinstance(output, LaneAgreed):
                    agreed.append(output)
                elif isinstance(output, Finished):
                    reasons.append(output.reason)
        combined: list[Output] = []
        if keys:  # saved before anything of this phase is sent
            if len(keys) != count:
                return self.finish(f"only {len(keys)} of {count} keys were made")
            transcript = key_set_transcript([k.transcript_hash for k in keys])
            combined.append(SaveKey(transcript, tuple(k.key for k in keys)))
        for kind in sorted(sends):
            combined.append(self.send(kind, codec.encode(tuple(sends[kind]))))
        if agreed and len(agreed) == count:
            transcript = key_set_transcript([a.transcript_hash for a in agreed])
            payload = encode_keygen_result(transcript, [a.public for a in agreed])
            combined.append(SubmitResult(payload))
        if reasons:
            if len(reasons) != count or len(set(reasons)) != 1:
                return combined + self.finish(f"the lanes ended apart: {sorted(set(reasons))}")
            combined += self.finish(reasons[0])
        return combined


KEY_SET_TRANSCRIPT_DOMAIN: Final = "ledger/threshold/key-set-transcript/v1"


def key_set_transcript(transcripts: list[bytes]) -> bytes:
    """The transcript hash of a whole ceremony: over its lanes' hashes, in key order."""
    return crypto.sha256(codec.encode((KEY_SET_TRANSCRIPT_DOMAIN, tuple(transcripts))))


def _lane_bodies(body: bytes, count: int) -> tuple[bytes, ...] | None:
    """A KeySetRun message split into its lanes' bodies; None if malformed."""
    parts = _items(body)
    return parts if len(parts) == count else None


def new_run(context: RunContext, keys: tuple[KeyPackage, ...] | None = None) -> CeremonyRun:
    """The run for this ceremony's kind; ``keys``: this node's shares of the
    keys being reshared or signed with (one per key of the ceremony)."""
    ceremony = context.ceremony
    if ceremony.kind == KIND_SIGN:
        assert keys is not None and len(keys) == 1
        return SignRun(replace(context, key=keys[0]))
    lane_type: type[CeremonyRun] = DkgRun if ceremony.kind == KIND_DKG else ReshareRun
    if keys is not None and len(keys) != ceremony.key_count:
        keys = None  # shares of another set of keys: this node only receives
    lanes = [
        lane_type(replace(context, lane=index, key=keys[index] if keys else None))
        for index in range(ceremony.key_count)
    ]
    return KeySetRun(context, lanes)


def takes_part(ceremony: Ceremony, me: bytes, holders: KeySet | None, has_key: bool) -> bool:
    """Whether a node with validator key ``me`` has a part in ``ceremony``
    (``holders``: the current holders of the ceremony's keys)."""
    if ceremony.kind == KIND_DKG:
        return me in ceremony.participants
    if holders is None:
        return False
    in_group = holders.identifier_of(me) is not None and has_key
    if ceremony.kind == KIND_RESHARE:
        return me in ceremony.participants or in_group
    return in_group
