"""The registry: how the core knows the chain's features without importing them.

A feature (ledger/features/<name>/) declares one ``Feature`` in its
``feature.py``: its body kinds (how each decodes, executes, and whether a
policy account may run it), its end-of-block steps and its genesis steps.
ledger/features/__init__.py lists every feature and the order of their steps,
and ``ledger/__init__.py`` installs that list into ``RULES`` when the ledger
package is first imported, so every program that uses the ledger runs the
same rule book. The core reads ``RULES`` when it runs, never at import:

- ledger.types decodes a body with ``RULES.decoders`` (and the fast path
  with ``RULES.fast_decoders``);
- ledger.transition executes a body with ``RULES.executors`` (after
  checking its declared ``RULES.gas`` against the block gas limit), prices
  a transaction for admission with ``RULES.spends``, and ends a block with
  ``RULES.end_block_steps``;
- ledger.genesis builds the genesis state with ``RULES.genesis_steps`` and
  parses the document sections features own with ``RULES.genesis_sections``;
- the policy feature runs a proposal's action with ``RULES.actions``;
- ledger.json_forms renders a body with its kind's registered JSON form;
- the contracts feature hands a message addressed to a feature's system
  address to that feature's handler (``RULES.system_addresses``).

A tag or a step name used twice, a step left out of the order, or a second
installation is a programming error: ``install`` raises RegistryError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from ledger.context import BlockContext, Delivery, Outcome
    from ledger.genesis import Genesis
    from ledger.state import State
    from ledger.types import Body, Event, Transaction

BodyExecutor = Callable[["State", "Transaction", "BlockContext"], "Outcome"]
ActionExecutor = Callable[["State", bytes, Any, "BlockContext"], "Outcome"]
EndBlockStep = Callable[["State", "BlockContext"], "tuple[Event, ...]"]
GenesisStep = Callable[["State", "Genesis"], None]
FastBodyDecoder = Callable[[tuple[Any, ...]], "Body | None"]
BodyGas = Callable[[Any], int]  # the body in, the most gas it may use out
BodySpends = Callable[[Any], tuple[tuple[str, int], ...]]  # the body in, (asset, amount) out
JsonForm = Callable[[Any], dict[str, Any]]
GenesisSectionParser = Callable[[dict[str, Any]], Any]  # the whole document in, the section out
SystemAddressHandler = Callable[["State", "BlockContext", "Delivery"], "Outcome"]
Step = TypeVar("Step")


class RegistryError(Exception):
    """The features do not fit together (a tag or a name used twice, a step not ordered)."""


class BodyType(Protocol):
    """A body kind's dataclass: its tag, its name and its strict decoder."""

    KIND: ClassVar[int]
    NAME: ClassVar[str]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Any: ...


@dataclass(frozen=True, slots=True)
class BodyKind:
    """One transaction body kind and how the chain runs it.

    ``execute`` runs it as a transaction of its own (None: a transaction
    carrying it is rejected as not executable). ``action`` runs it as a
    policy account's approved action with the policy as the actor (None: no
    policy may propose it); ``governance_only`` restricts that to the
    governance policy. ``decode_fast``, if given, decodes the body's array
    ``[kind, field...]`` or returns None, and accepts only what
    ``body.from_fields`` accepts, with the same result, and only arrays of
    scalars (no nested arrays or maps), as the transaction fast path requires.
    ``json`` gives the body's JSON form in the RPC API (ledger.json_forms);
    without it the body renders as its list of fields.

    ``gas`` gives the most gas executing the body may use (a call's gas
    limit, a deploy's gas): the body may start only if that fits in what is
    left of the block gas limit (ledger.context.BlockGas). ``spends`` gives
    what the body may take from its sender at most, as ``(asset, amount)``
    pairs, read from the body alone: admission to the mempool refuses a
    transaction whose sender cannot pay that plus the fee (none: only the
    fee). Both are declarations the core checks before running the body;
    the body's executor stays the one that moves the amounts.
    """

    body: type[BodyType]
    execute: BodyExecutor | None = None
    action: ActionExecutor | None = None
    governance_only: bool = False
    decode_fast: FastBodyDecoder | None = None
    json: JsonForm | None = None
    gas: BodyGas | None = None
    spends: BodySpends | None = None


def by_sender(action: ActionExecutor) -> BodyExecutor:
    """A body executor that runs ``action`` with the transaction's sender as the actor."""

    def execute(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
        return action(state, tx.sender_address, tx.body, ctx)

    execute.__name__ = f"execute_{getattr(action, '__name__', 'action')}"
    execute.__doc__ = action.__doc__
    return execute


def sender_kind(
    body: type[BodyType],
    action: ActionExecutor,
    policy_action: bool = False,
    json: JsonForm | None = None,
    decode_fast: FastBodyDecoder | None = None,
    spends: BodySpends | None = None,
) -> BodyKind:
    """A kind that acts for the transaction's sender; with ``policy_action``
    a policy account may run it too (the same function, the policy as actor)."""
    policy = action if policy_action else None
    return BodyKind(
        body, by_sender(action), policy, decode_fast=decode_fast, json=json, spends=spends
    )


@dataclass(frozen=True, slots=True)
class Feature:
    """What one feature contributes to the rule book. Steps are named; the
    order they run in is the registry's (ledger/features/__init__.py)."""

    name: str
    body_kinds: tuple[BodyKind, ...] = ()
    end_block_steps: tuple[tuple[str, EndBlockStep], ...] = ()
    genesis_steps: tuple[tuple[str, GenesisStep], ...] = ()
    genesis_sections: tuple[tuple[str, GenesisSectionParser], ...] = ()
    # Addresses (20 bytes, derived so that no key or contract can have them)
    # whose contract messages the feature handles. The handler runs in the
    # delivery's own journal scope and raises ExecutionFailure to refuse the
    # message (its effects reverted, its gas_used still burned).
    system_addresses: tuple[tuple[bytes, SystemAddressHandler], ...] = ()


class Rules:
    """The installed rule book: the tables the core reads (empty until installed)."""

    def __init__(self) -> None:
        self.features: tuple[Feature, ...] = ()
        self.kinds: dict[int, BodyKind] = {}
        self.decoders: dict[int, Callable[[tuple[Any, ...]], Any]] = {}
        self.fast_decoders: dict[int, FastBodyDecoder] = {}
        self.executors: dict[int, BodyExecutor] = {}
        self.gas: dict[int, BodyGas] = {}
        self.spends: dict[int, BodySpends] = {}
        self.actions: dict[int, ActionExecutor] = {}
        self.governance_actions: frozenset[int] = frozenset()
        self.end_block_steps: tuple[tuple[str, EndBlockStep], ...] = ()
        self.genesis_steps: tuple[tuple[str, GenesisStep], ...] = ()
        self.genesis_sections: dict[str, GenesisSectionParser] = {}
        self.system_addresses: dict[bytes, SystemAddressHandler] = {}

    @property
    def installed(self) -> bool:
        return bool(self.features)

    def install(
        self,
        features: tuple[Feature, ...],
        end_block_order: tuple[str, ...],
        genesis_order: tuple[str, ...],
    ) -> None:
        """Fill the tables from ``features``. Raises RegistryError."""
        if self.installed:
            raise RegistryError("the features are already installed")
        names = [feature.name for feature in features]
        _require_unique(names, "feature")
        kinds: dict[int, BodyKind] = {}
        for feature in features:
            for kind in feature.body_kinds:
                tag = kind.body.KIND
                if tag in kinds:
                    raise RegistryError(f"body kind {tag} is registered twice")
                if kind.governance_only and kind.action is None:
                    raise RegistryError(f"body kind {tag}: governance_only without an action")
                kinds[tag] = kind
        _require_unique([kind.body.NAME for kind in kinds.values()], "body kind name")
        sections = [s for feature in features for s in feature.genesis_sections]
        _require_unique([name for name, _ in sections], "genesis section")
        addresses = [a for feature in features for a in feature.system_addresses]
        _require_unique([address.hex() for address, _ in addresses], "system address")
        self.kinds = dict(sorted(kinds.items()))
        self.decoders = {tag: kind.body.from_fields for tag, kind in self.kinds.items()}
        self.fast_decoders = {
            tag: kind.decode_fast for tag, kind in self.kinds.items() if kind.decode_fast
        }
        self.executors = {tag: kind.execute for tag, kind in self.kinds.items() if kind.execute}
        self.gas = {tag: kind.gas for tag, kind in self.kinds.items() if kind.gas}
        self.spends = {tag: kind.spends for tag, kind in self.kinds.items() if kind.spends}
        self.actions = {tag: kind.action for tag, kind in self.kinds.items() if kind.action}
        self.governance_actions = frozenset(
            tag for tag, kind in self.kinds.items() if kind.governance_only
        )
        self.end_block_steps = _ordered(
            [step for feature in features for step in feature.end_block_steps],
            end_block_order,
            "end-of-block step",
        )
        self.genesis_steps = _ordered(
            [step for feature in features for step in feature.genesis_steps],
            genesis_order,
            "genesis step",
        )
        self.genesis_sections = dict(sections)
        self.system_addresses = dict(addresses)
        self.features = features


def _require_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RegistryError(f"{what} {name!r} is registered twice")
        seen.add(name)


def _ordered(
    steps: list[tuple[str, Step]], order: tuple[str, ...], what: str
) -> tuple[tuple[str, Step], ...]:
    """``steps`` in the order ``order`` names them; every step named exactly once."""
    by_name: Mapping[str, Step] = dict(steps)
    _require_unique([name for name, _ in steps], what)
    _require_unique(list(order), what)
    missing = sorted(set(by_name) - set(order))
    unknown = sorted(set(order) - set(by_name))
    if missing or unknown:
        raise RegistryError(f"{what} order: not ordered {missing}, not registered {unknown}")
    return tuple((name, by_name[name]) for name in order)


RULES = Rules()
