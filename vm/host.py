"""The Host interface the ledger implements, and an in-memory reference host.

The machine reaches the world only through a Host. During execution it only
*reads* (storage_get, balance, caller, call_value, contract_address, block_height,
block_time, sha256, verify_signature); every change is buffered in the
machine's journal and handed to the write methods (storage_set,
storage_delete, transfer, emit_event, send_message) only after the entry
point returned successfully (vm.effects.apply_effects). So a host needs no
snapshots: a failed execution never calls a write method.

A host must be deterministic: its answers may depend only on chain state,
never on a clock, randomness or local configuration.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vm.effects import Event, Message, Transfer


class Host(Protocol):
    """What a contract may ask of the ledger, and nothing else."""

    def storage_get(self, key: bytes) -> bytes:
        """The contract's value at `key`, or b"" if there is none."""
        ...

    def storage_set(self, key: bytes, value: bytes) -> None:
        """Store a non-empty `value` at `key` (commit phase only)."""
        ...

    def storage_delete(self, key: bytes) -> None:
        """Remove `key`; absent keys are fine (commit phase only)."""
        ...

    def balance(self, address: bytes) -> int:
        """Native coin balance of `address` (0 for unknown addresses)."""
        ...

    def transfer(self, recipient: bytes, amount: int) -> None:
        """Move `amount` from the contract to `recipient` (commit phase only).

        The machine has already checked the contract's balance covers it.
        """
        ...

    def caller(self) -> bytes:
        """Address of the account or contract that started this execution."""
        ...

    def call_value(self) -> int:
        """Coin the caller paid the contract with this call, already in the
        contract's balance (0 for a plain call, a message or a scheduled run)."""
        ...

    def contract_address(self) -> bytes:
        """Address of the running contract."""
        ...

    def block_height(self) -> int:
        """Height of the block being executed."""
        ...

    def block_time(self) -> int:
        """Timestamp of the block being executed (seconds, from its header)."""
        ...

    def emit_event(self, event: Event) -> None:
        """Record an event in the receipt (commit phase only)."""
        ...

    def send_message(self, message: Message) -> None:
        """Queue a message for delivery after this execution (commit phase only)."""
        ...

    def sha256(self, data: bytes) -> bytes:
        """SHA-256 digest of `data` (32 bytes)."""
        ...

    def verify_signature(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Whether `signature` by `public_key` over `message` is valid.

        Must return False, never raise, for malformed keys or signatures.
        """
        ...


def verify_bip340(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """BIP-340 Schnorr verification (32-byte x-only key, 64-byte signature).

    Returns False for malformed input instead of raising.
    """
    from coincurve import PublicKeyXOnly

    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        return bool(PublicKeyXOnly(public_key).verify(signature, message))
    except ValueError:
        return False


@dataclass(eq=False)
class MemoryHost:
    """A Host over plain dictionaries, for tests and `ledger vm run`.

    It keeps what a successful execution committed: `storage`, `balances`,
    and the logs `events`, `messages`, `transfers`.
    """

    address: bytes = b"contract"
    caller_address: bytes = b"caller"
    value: int = 0
    height: int = 0
    time: int = 0
    storage: dict[bytes, bytes] = field(default_factory=dict)
    balances: dict[bytes, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    verifier: Callable[[bytes, bytes, bytes], bool] = verify_bip340

    def storage_get(self, key: bytes) -> bytes:
        """The stored value or b""."""
        return self.storage.get(key, b"")

    def storage_set(self, key: bytes, value: bytes) -> None:
        """Store `value` at `key`."""
        self.storage[key] = value

    def storage_delete(self, key: bytes) -> None:
        """Remove `key` if present."""
        self.storage.pop(key, None)

    def balance(self, address: bytes) -> int:
        """Balance of `address`, 0 if unknown."""
        return self.balances.get(address, 0)

    def transfer(self, recipient: bytes, amount: int) -> None:
        """Move coin from the contract. Raises ValueError if it cannot pay."""
        if self.balance(self.address) < amount:
            raise ValueError("contract balance too low (the machine should have halted)")
        self.balances[self.address] = self.balance(self.address) - amount
        self.balances[recipient] = self.balance(recipient) + amount
        self.transfers.append(Transfer(recipient, amount))

    def caller(self) -> bytes:
        """The configured caller."""
        return self.caller_address

    def call_value(self) -> int:
        """The configured payment."""
        return self.value

    def contract_address(self) -> bytes:
        """The configured contract address."""
        return self.address

    def block_height(self) -> int:
        """The configured block height."""
        return self.height

    def block_time(self) -> int:
        """The configured block time."""
        return self.time

    def emit_event(self, event: Event) -> None:
        """Append to `events`."""
        self.events.append(event)

    def send_message(self, message: Message) -> None:
        """Append to `messages`."""
        self.messages.append(message)

    def sha256(self, data: bytes) -> bytes:
        """hashlib SHA-256."""
        return hashlib.sha256(data).digest()

    def verify_signature(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Delegates to `verifier` (BIP-340 by default)."""
        return self.verifier(public_key, message, signature)
