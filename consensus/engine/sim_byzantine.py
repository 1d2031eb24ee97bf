"""Byzantine behaviours of the consensus simulation beyond the original seven
(those live in consensus.engine.simulation): each is a function of the running
``Simulation`` and one Byzantine ``SimNode``.

- ``swap``: a body-swapping relay. The first proposal of each round it
  receives it sends on at once (its link is fast: one tick) with the same signed proposal and
  header but another body, so it often arrives before the genuine one.
- ``flood``: floods the next height: on the first message of each height it
  sees, it sends messages for height + 1: proposals from a non-validator
  with large blocks, votes with bad signatures under honest validators'
  addresses, proposals it signs for rounds it does not propose, and its own
  votes for many rounds.
- ``push-rounds``: for every round it hears of, it prevotes nil in the next
  round at once (over a fast link), trying to make nodes skip rounds (line
  55) on messages of validators without more than a third of the power.
- ``fake-pol``: as proposer, proposes a fresh block claiming a proof-of-lock
  round it has no polka for (a random earlier round), and votes for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from consensus.engine.messages import Step, Vote, sign_proposal, sign_vote
from consensus.engine.sim_app import swap_body
from consensus.engine.wire import CommitMessage, Message, ProposalMessage, encode_message
from ledger.address import address_of

if TYPE_CHECKING:
    from consensus.engine.simulation import SimNode, Simulation

FLOOD_ROUNDS: Final = 6  # own votes for rounds 0..5 of the next height
FLOOD_PROPOSALS: Final = 4  # junk proposals per flood


def relay_swapped(sim: Simulation, node: SimNode, message: Message) -> None:
    """``swap``: relay a received proposal with its body swapped (once per round)."""
    if not isinstance(message, ProposalMessage) or message.proposal.proposer == node.address:
        return
    key = (message.height, message.proposal.round)
    if key in node.flooded:
        return
    node.flooded.add(key)
    swapped = swap_body(message.block, sim.rng)
    if swapped is not None:
        data = encode_message(ProposalMessage(message.proposal, swapped))
        sim.send(node, sim.everyone(), data, fast=True)


def flood_next_height(sim: Simulation, node: SimNode, message: Message) -> None:
    """``flood``: junk for height + 1, once per height seen."""
    key = (message.height, -1)
    if message.height != node.engine.height or isinstance(message, CommitMessage):
        return  # (junk for a later height must not set off more floods)
    if key in node.flooded:
        return
    node.flooded.add(key)
    height = message.height + 1
    rng = sim.rng
    everyone = sim.everyone()
    block_size = sim.config.engine.max_block_size // 2
    outsider = sim.outsider
    for round_ in range(FLOOD_PROPOSALS):
        block = rng.randbytes(rng.randint(block_size // 2, block_size))
        unsigned = sign_proposal(
            outsider,
            sim.chain_id,
            height,
            round_,
            -1,
            rng.randbytes(32),
            address_of(outsider.public_key),
        )
        sim.send(node, everyone, encode_message(ProposalMessage(unsigned, block)))
        own = node.app.build_block(height, round_, node.address, rng, False)
        signed = sign_proposal(
            node.key, sim.chain_id, height, round_, -1, node.app.block_hash(own), node.address
        )
        sim.send(node, everyone, encode_message(ProposalMessage(signed, own)))
    victim = rng.choice(sim.nodes)
    forged = Vote(Step.PREVOTE, height, 0, rng.randbytes(32), victim.address, rng.randbytes(64))
    sim.send(node, everyone, encode_message(forged))
    for round_ in range(FLOOD_ROUNDS):
        for step in (Step.PREVOTE, Step.PRECOMMIT):
            vote = sign_vote(node.key, sim.chain_id, step, height, round_, None, node.address)
            sim.send(node, everyone, encode_message(vote))


def push_rounds(sim: Simulation, node: SimNode, message: Message) -> None:
    """``push-rounds``: a nil prevote for the round after any round heard of."""
    if isinstance(message, Vote):
        height, round_ = message.height, message.round
    elif isinstance(message, ProposalMessage):
        height, round_ = message.height, message.proposal.round
    else:
        return
    if height != node.engine.height or (height, round_ + 1) in node.pushed:
        return
    node.pushed.add((height, round_ + 1))
    vote = sign_vote(node.key, sim.chain_id, Step.PREVOTE, height, round_ + 1, None, node.address)
    sim.send(node, sim.everyone(), encode_message(vote), fast=True)


def propose_with_fake_pol(sim: Simulation, node: SimNode, message: ProposalMessage) -> bool:
    """``fake-pol``: replace an own proposal for round r >= 1 by a fresh block
    claiming a polka in a random earlier round. False (nothing sent) in round 0."""
    p = message.proposal
    if p.round == 0 or p.proposer != node.address:
        return False
    block = node.app.build_block(p.height, p.round, node.address, sim.rng, False)
    block_hash = node.app.block_hash(block)
    pol_round = sim.rng.randrange(p.round)
    fake = sign_proposal(
        node.key, sim.chain_id, p.height, p.round, pol_round, block_hash, node.address
    )
    everyone = sim.everyone()
    sim.send(node, everyone, encode_message(ProposalMessage(fake, block)))
    for step in (Step.PREVOTE, Step.PRECOMMIT):
        vote = sign_vote(node.key, sim.chain_id, step, p.height, p.round, block_hash, node.address)
        sim.send(node, everyone, encode_message(vote))
    return True
