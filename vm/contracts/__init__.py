"""Contracts that ship with the VM, in assembly text (see
docs/guide/contracts.md): `remailer.asm`, an anonymous remailer.
"""

from __future__ import annotations

from importlib import resources

BUNDLED = ("remailer",)


def contract_source(name: str) -> str:
    """The assembly text of the bundled contract `name`.

    Raises ValueError if there is no such contract.
    """
    if name not in BUNDLED:
        raise ValueError(f"no bundled contract {name!r}; have {', '.join(BUNDLED)}")
    return resources.files(__name__).joinpath(f"{name}.asm").read_text(encoding="ascii")
