"""Contracts that ship with the VM, in assembly text (see
docs/guide/contracts.md and docs/guide/mail.md): `remailer.asm`, which sells
postage and feeds letters into the validators' anonymous mix, and
`batch_relay.asm`, a relay that batches and forwards messages (an example
of messaging and schedules, not anonymous).
"""

from __future__ import annotations

from importlib import resources

BUNDLED = ("remailer", "batch_relay")


def contract_source(name: str) -> str:
    """The assembly text of the bundled contract `name`.

    Raises ValueError if there is no such contract.
    """
    if name not in BUNDLED:
        raise ValueError(f"no bundled contract {name!r}; have {', '.join(BUNDLED)}")
    return resources.files(__name__).joinpath(f"{name}.asm").read_text(encoding="ascii")
