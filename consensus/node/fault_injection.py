"""Test-only fault injection: make a real node process's WAL fail on purpose.

``LEDGER_TEST_WAL_FAIL_AFTER=N`` in a node's environment makes every WAL
append after the first N raise ``OSError(ENOSPC)``, as a full disk would.
It exists so that tests can show, on a real process, that a failed persist
stops the node before anything that depended on it leaves (issue 13
section 4; tests/process/test_wal_failure_process.py). It is for tests only:
an operator never sets it (the node logs a WARNING at start when it is set).
"""

from __future__ import annotations

import errno
import logging
import os
from typing import Final

from consensus.node.wal import WriteAheadLog

WAL_FAIL_AFTER_ENV: Final = "LEDGER_TEST_WAL_FAIL_AFTER"

log = logging.getLogger("consensus.node")


def inject_wal_failures(wal: WriteAheadLog) -> None:
    """Apply ``LEDGER_TEST_WAL_FAIL_AFTER`` to ``wal`` if it is set. Raises
    ValueError for a value that is not a non-negative integer."""
    setting = os.environ.get(WAL_FAIL_AFTER_ENV)
    if setting is None:
        return
    allowed = int(setting)
    if allowed < 0:
        raise ValueError(f"{WAL_FAIL_AFTER_ENV} must be a non-negative integer")
    log.warning("%s=%d: the WAL will fail on purpose (test only)", WAL_FAIL_AFTER_ENV, allowed)
    original = wal.append
    appended = 0

    def append(record: bytes, sync: bool = True) -> None:
        nonlocal appended
        if appended >= allowed:
            raise OSError(
                errno.ENOSPC, f"No space left on device (injected by {WAL_FAIL_AFTER_ENV})"
            )
        appended += 1
        original(record, sync=sync)

    wal.append = append  # type: ignore[method-assign]
