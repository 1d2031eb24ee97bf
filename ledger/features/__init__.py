"""The chain's features, one folder per feature, and the one list of them.

A feature (``ledger/features/<name>/``) holds its transaction body kinds and
their codecs (``bodies.py``), its state records, execution functions,
end-of-block steps and read-only queries, and declares them to the core in
one place, its ``feature.py``. It imports the core (``ledger/*.py``) and
another feature only through that feature's ``interface.py``. The core knows
features only through ledger.registry, which ``ledger/__init__.py`` fills
from the tuple below. See docs/architecture.md.

Changing an order below, or a feature's steps, changes the state transition:
it is a hard fork.
"""

from __future__ import annotations

from typing import Final

from ledger.features.bank.feature import FEATURE as BANK
from ledger.features.barter.feature import FEATURE as BARTER
from ledger.features.contracts.feature import FEATURE as CONTRACTS
from ledger.features.evidence.feature import FEATURE as EVIDENCE
from ledger.features.mail.feature import FEATURE as MAIL
from ledger.features.mint.feature import FEATURE as MINT
from ledger.features.policy.feature import FEATURE as POLICY
from ledger.features.threshold.feature import FEATURE as THRESHOLD
from ledger.features.validators.feature import FEATURE as VALIDATORS
from ledger.registry import Feature

FEATURES: Final[tuple[Feature, ...]] = (
    VALIDATORS,
    BANK,
    BARTER,
    POLICY,
    CONTRACTS,
    EVIDENCE,
    THRESHOLD,
    MINT,
    MAIL,
)

# The end-of-block steps run after the block's fees are paid, in this order.
# Each returns block-level events (stored with the block, not in any root:
# they are a deterministic function of the block and the state).
END_BLOCK_ORDER: Final = (
    "expire_offers",
    "expire_proposals",
    "mint_validator_credits",
    "run_scheduled_contracts",
    "charge_rent",
    "record_membership_changes",
    "prune_validator_schedule",
    "update_mint_keysets",
    "advance_mint_issues",
    "settle_mint_redemptions",
    "advance_mail_batches",
    "expire_mail",
    "schedule_threshold_ceremonies",
)

# The genesis steps write the genesis state after the chain parameters, in this order.
GENESIS_ORDER: Final = (
    "genesis_validators",
    "genesis_policies",
    "genesis_balances",
    "genesis_threshold_key",
    "genesis_mint",
    "genesis_mail",
)
