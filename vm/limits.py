"""Hard limits of the machine and of the module format.

They are part of consensus: every validator must use the same numbers, so
they change only together with the module version or the gas schedule
version (see docs/spec/vm.md).
"""

from __future__ import annotations

WORD_BITS = 256
"""Integers are unsigned and WORD_BITS wide; arithmetic wraps modulo 2**256."""
MAX_UINT = (1 << WORD_BITS) - 1

# Module format.
MAX_MODULE_BYTES = 131_072
MAX_CODE_SIZE = 32_768
MAX_CONSTANTS = 1_024
MAX_FUNCTIONS = 256
MAX_ENTRY_POINTS = 64
MAX_NAME_LENGTH = 32
MAX_PARAMS = 16
MAX_RESULTS = 16
MAX_MEMORY_CELLS = 4_096

# Machine.
MAX_STACK = 1_024
MAX_CALL_DEPTH = 64
MAX_BYTES_LENGTH = 4_096
MAX_ALLOCATED_BYTES = 1_048_576
"""Total bytes of byte strings a single execution may create."""

# Host interaction.
MAX_STORAGE_KEY = 64
MAX_STORAGE_VALUE = 4_096
MAX_STORAGE_WRITES = 256
MAX_EVENTS = 64
MAX_EVENT_BYTES = 1_024
MAX_TOPIC_BYTES = 32
MAX_MESSAGES = 64
MAX_MESSAGE_ARGS = 16
MAX_MESSAGE_BYTES = 16_384
MAX_ADDRESS_BYTES = 64
MAX_MESSAGE_GAS = (1 << 64) - 1
MAX_GAS_LIMIT = (1 << 63) - 1
