"""The mail feature's entry in the registry: the mix's system address
(letters from remailers), shuffles and decryption shares from validators,
the end-of-block steps that move batches on and expire letters, and the
genesis section that turns mail on and asks for the mail key."""

from __future__ import annotations

from ledger.features.mail.bodies import MIX_ADDRESS, MailDecrypt, MailShuffle
from ledger.features.mail.config import genesis_mail, parse_genesis_mail
from ledger.features.mail.execution import (
    accept_letter,
    advance_batches,
    expire_mail,
    submit_decryption,
    submit_shuffle,
)
from ledger.features.mail.rpc_json import decrypt_json, shuffle_json
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="mail",
    body_kinds=(
        BodyKind(MailShuffle, submit_shuffle, json=shuffle_json),
        BodyKind(MailDecrypt, submit_decryption, json=decrypt_json),
    ),
    end_block_steps=(
        ("advance_mail_batches", advance_batches),
        ("expire_mail", expire_mail),
    ),
    genesis_steps=(("genesis_mail", genesis_mail),),
    genesis_sections=(("mail", parse_genesis_mail),),
    system_addresses=((MIX_ADDRESS, accept_letter),),
)
