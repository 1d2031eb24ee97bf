"""The [pruning] section of config.toml: defaults, what it turns into, and
settings that contradict each other refused with a message naming them."""

from __future__ import annotations

import pytest

from consensus.node.config import ConfigError, encode_config, parse_config
from ledger.pruning import PruningPolicy


def test_the_defaults_keep_every_block_and_recent_states() -> None:
    policy = parse_config({}).pruning.policy()
    assert policy.prunes_states and not policy.prunes_blocks
    assert policy.keep_recent == 100_000 and policy.keep_every == 0


def test_settings_become_the_ledger_policy_and_round_trip() -> None:
    document = {"pruning": {"keep_recent": 10, "keep_every": 100, "retain_blocks": 20}}
    config = parse_config(document)
    assert config.pruning.policy() == PruningPolicy(10, 100, 20)
    assert "[pruning]\nkeep_recent = 10\nkeep_every = 100\nretain_blocks = 20" in encode_config(
        config
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"keep_recent": 0, "keep_every": 10}, "keep_every needs pruning.keep_recent"),
        ({"retain_blocks": 1}, "retain_blocks is 0"),
        ({"heights_per_pass": 0}, "at least one height"),
        ({"keep_recent": -1}, "must not be negative"),
        ({"keep_recnt": 5}, "unknown setting pruning.keep_recnt"),
        ({"keep_recent": "5"}, "expected int"),
    ],
)
def test_contradictions_and_typos_are_refused(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"pruning": section})
